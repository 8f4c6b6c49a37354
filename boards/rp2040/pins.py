# boards/rp2040/pins.py - pin map and configuration of the Raspberry Pi Pico W board.
# Wiring: boards/rp2040/README.md. Settings that differ per installation (Wi-Fi, CSMS,
# identity) are provisioned into the store by `make deploy`, not kept here.
MODEL = "OCPP2.Lite-PicoW"  # BootNotification chargingStation.model (<= 20 chars)
HW = {"phases": 3, "power_max": 11040, "connector": "sType2"}  # 16 A three phase, Type 2 socket
LED = "LED"  # on the CYW43 radio chip
WDT_MS = 8000  # the RP2040 watchdog allows at most 8388 ms
TIMER = -1  # the interlock's machine.Timer: the virtual timer (soft callback)
COUNTRY = "DE"  # regulatory domain of the radio
ADC_KW = {}

# One dict per EVSE. amps: the rated current (cable, contactor, supply): the most the pilot
# offers. cal: read_u16() of the CP sense input at -12 V and at +12 V (measure
# them on each board: state F with the PWM at 0 %, state A). meter: ("SDM120"|"SDM630",
# Modbus address), ("S0", pin, pulses per kWh), or None. Optional trip: (pin, reason), a
# fault input to GND (low = tripped: an RCD's trip output, an emergency stop) that opens the
# contactor like a pilot error, reported as reason ("GroundFault", "EmergencyStop").
EVSES = (
    {"amps": 16, "relay": 15, "feedback": 13, "pwm": 14, "adc": 26, "cal": (6553, 58981), "meter": ("SDM630", 1)},
)

# RS-485 transceiver on UART1; de: DE and /RE tied together, or None for an auto-direction
# transceiver. The meters must be set to this baud rate, 8N1.
MODBUS = {"uart": 1, "baudrate": 9600, "tx": 4, "rx": 5, "de": 3}

# MFRC522 on SPI0.
RFID = {"spi": 0, "baudrate": 1000000, "sck": 18, "mosi": 19, "miso": 16, "cs": 17, "rst": 20}
