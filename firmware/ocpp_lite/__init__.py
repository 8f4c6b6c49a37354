# ocpp_lite - OCPP 2.0.1 charging-station core for MicroPython (OCPP2.Lite), without I/O.
__version__ = "0.1.0"
