# boards/rp2040/mpconfigboard.cmake - MicroPython board definition of the OCPP2.Lite Pico W
# firmware, used as BOARD_DIR of ports/rp2: the stock RPI_PICO_W configuration (CYW43 Wi-Fi,
# lwIP; no Bluetooth, which the station does not use), the mbedTLS configuration of
# mbedtls_config_board.h and the application frozen by manifest.py. Build commands: README.md.
set(PICO_BOARD "pico_w")
set(MICROPY_BOARD_PINS ${MICROPY_PORT_DIR}/boards/RPI_PICO_W/pins.csv)

set(MICROPY_PY_LWIP ON)
set(MICROPY_PY_NETWORK_CYW43 ON)

set(MBEDTLS_CONFIG_FILE ${MICROPY_BOARD_DIR}/mbedtls_config_board.h)
# OCPP_LITE_TLS_IN_LEN=2048 in the environment at the first cmake run of a build directory: the
# 2 kB-input TLS build (mbedtls_config_board.h; only for a CSMS that honours max_fragment_length).
if(DEFINED ENV{OCPP_LITE_TLS_IN_LEN})
    list(APPEND MICROPY_DEF_BOARD OCPP_LITE_TLS_IN_LEN=$ENV{OCPP_LITE_TLS_IN_LEN})
endif()

if(NOT MICROPY_FROZEN_MANIFEST)
    set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
endif()
