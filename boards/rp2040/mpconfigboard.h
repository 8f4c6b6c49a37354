// boards/rp2040/mpconfigboard.h - MicroPython board configuration of the OCPP2.Lite Pico W.
#define MICROPY_HW_BOARD_NAME "OCPP2.Lite Pico W"
#define MICROPY_HW_FLASH_STORAGE_BYTES (848 * 1024)
#define MICROPY_PY_NETWORK_HOSTNAME_DEFAULT "ocpp2lite-picow"

// The TLS client asks the CSMS for 2 kB records (RFC 6066 max_fragment_length), with
// boards/common/tls-max-fragment-length.patch applied to the MicroPython checkout.
#define MICROPY_SSL_MFL_CODE (MBEDTLS_SSL_MAX_FRAG_LEN_2048)

// The function objects, class dicts and globals of the modules the station keeps from start in
// ROM, not in the heap (about 13 kB of it), with boards/common/frozen-static-functions.patch applied and
// MICROPY_FROZEN_STATIC set at build time (README, "Building the custom firmware").
#define MICROPY_MODULE_FROZEN_STATIC (1)

// permessage-deflate in C (runtime/wsdeflate.py uses it where it finds it): uzlib's compressor,
// and with boards/common/deflate-takeover.patch applied RFC 7692's sync flush and an inflater
// that keeps its window from message to message (DeflateIO.compress/sync/inflate).
#define MICROPY_PY_DEFLATE_COMPRESS (1)

#include "enable_cyw43.h"
