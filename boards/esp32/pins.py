# boards/esp32/pins.py - pin map and configuration of the ESP32 board (ESP32-DevKitC,
# ESP32-WROOM-32). Wiring: boards/esp32/README.md. Settings that differ per installation
# (Wi-Fi, CSMS, identity) are provisioned into the store by `make deploy`, not kept here.
from machine import ADC

MODEL = "OCPP2.Lite-ESP32"  # BootNotification chargingStation.model (<= 20 chars)
HW = {"phases": 1, "power_max": 7360, "connector": "cType2"}  # 32 A single phase, tethered Type 2
LED = 2
WDT_MS = 8000
TIMER = 0  # the interlock's machine.Timer: hardware timer 0 (soft callback)

# Control pilot sense: ADC1 only (ADC2 cannot be read while Wi-Fi runs); 11 dB: 0-3.1 V.
ADC_KW = {"atten": ADC.ATTN_11DB}

# One dict per EVSE. amps: the rated current (cable, contactor, supply): the most the pilot
# offers. cal: read_u16() of the CP sense input at -12 V and at +12 V (measure
# them on each board: state F with the PWM at 0 %, state A). meter: ("SDM120"|"SDM630",
# Modbus address), ("S0", pin, pulses per kWh), or None. Optional trip: (pin, reason), a
# fault input to GND (low = tripped: an RCD's trip output, an emergency stop) that opens the
# contactor like a pilot error, reported as reason ("GroundFault", "EmergencyStop").
EVSES = (
    {"amps": 32, "relay": 26, "feedback": 27, "pwm": 25, "adc": 34, "cal": (6553, 58981), "meter": ("SDM120", 1)},
)

# RS-485 transceiver (MAX3485 or similar) on UART2; de: DE and /RE tied together, or None
# for a transceiver that switches by itself. The meters must be set to this baud rate, 8N1.
MODBUS = {"uart": 2, "baudrate": 9600, "tx": 17, "rx": 16, "de": 4}

# MFRC522 on the VSPI bus (SPI 2).
RFID = {"spi": 2, "baudrate": 1000000, "sck": 18, "mosi": 23, "miso": 19, "cs": 5, "rst": 22}
