# boards/esp32/mpconfigboard.cmake - MicroPython board definition of the OCPP2.Lite ESP32
# firmware (ESP32-WROOM-32, 4 MiB flash), used as BOARD_DIR of ports/esp32: the stock
# ESP32_GENERIC configuration plus the TLS settings of sdkconfig.board and the application
# frozen by manifest.py. Build commands: README.md.
set(IDF_TARGET esp32)

set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    ${SDKCONFIG_IDF_VERSION_SPECIFIC}
    boards/sdkconfig.ble
    ${MICROPY_BOARD_DIR}/sdkconfig.board
)
# OCPP_LITE_TLS_IN_LEN=2048 in the environment: the 2 kB-input TLS build (sdkconfig.tls-in-2k;
# only for a CSMS that honours max_fragment_length).
if("$ENV{OCPP_LITE_TLS_IN_LEN}" STREQUAL "2048")
    list(APPEND SDKCONFIG_DEFAULTS ${MICROPY_BOARD_DIR}/sdkconfig.tls-in-2k)
endif()

if(NOT MICROPY_FROZEN_MANIFEST)
    set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
endif()
