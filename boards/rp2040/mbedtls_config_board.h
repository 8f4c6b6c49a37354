// boards/rp2040/mbedtls_config_board.h - mbedTLS configuration of the OCPP2.Lite Pico W
// firmware (MBEDTLS_CONFIG_FILE, set in mpconfigboard.cmake): the rp2 port's configuration
// with the TLS buffers of OCPP 2.0.1 Part 4 section 5.2 / OCPP2.Lite whitepaper section 5.3.
// tools/mp32.py builds the 32-bit unix port with this same file (the include below then finds
// ports/unix/mbedtls/mbedtls_config_port.h), which is what docs/footprint.md measures.
#ifndef OCPP2LITE_MBEDTLS_CONFIG_BOARD_H
#define OCPP2LITE_MBEDTLS_CONFIG_BOARD_H

#include "mbedtls/mbedtls_config_port.h"

// 2 kB output buffer: ~99 % of OCPP messages fit one record, longer ones go out as several.
#undef MBEDTLS_SSL_OUT_CONTENT_LEN
#define MBEDTLS_SSL_OUT_CONTENT_LEN (2048)

// The input buffer: 16 kB by default, which works with any CSMS (one that ignores
// max_fragment_length may send full-size records). OCPP_LITE_TLS_IN_LEN=2048 (defined by the
// build: mpconfigboard.cmake takes it from the environment) makes the 2 kB-input build, 14 kB
// less heap, for a CSMS that honours max_fragment_length: with one that does not, a record over
// 2 kB ends the connection (the station logs it and records the TLSRecordTooLarge security
// event), and the CSMS's certificate chain must fit 2 kB too.
#ifndef OCPP_LITE_TLS_IN_LEN
#define OCPP_LITE_TLS_IN_LEN (16384)
#endif
#undef MBEDTLS_SSL_IN_CONTENT_LEN
#define MBEDTLS_SSL_IN_CONTENT_LEN (OCPP_LITE_TLS_IN_LEN)

// No CBC: OCPP 2.0.1's cipher suites are all AES-GCM (Part 2 A00.FR.318-319), and with CBC
// each record buffer keeps room for CBC padding and an HMAC (288 bytes more in each: 576 of the
// heap for as long as a connection lives; about 12 kB of flash). cryptolib.aes's MODE_CBC stays,
// made of ECB blocks: boards/common/cryptolib-cbc.patch.
#undef MBEDTLS_CIPHER_MODE_CBC

// RFC 6066 max_fragment_length: the client asks for 2 kB records (MICROPY_SSL_MFL_CODE in
// mpconfigboard.h, with boards/common/tls-max-fragment-length.patch applied).
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH

// Less heap in the handshake, measured on the 32-bit port (a bare wss:// connect, least heap by
// bisection): elliptic-curve multiplication with 2-bit windows instead of 4 (-1.7 kB of
// precomputed points at the handshake's peak; the fixed-point table for the generator is kept:
// the P-256 handshake takes 8 % longer, without it 33 %), and the entropy context with room
// for the one source mbedtls_entropy_init adds (the hardware RNG on a board) and a SHA-256
// accumulator (-0.45 kB for as long as an SSL context lives).
#undef MBEDTLS_ECP_WINDOW_SIZE
#define MBEDTLS_ECP_WINDOW_SIZE (2)
#define MBEDTLS_ENTROPY_MAX_SOURCES (2)
#define MBEDTLS_ENTROPY_FORCE_SHA256

#endif // OCPP2LITE_MBEDTLS_CONFIG_BOARD_H
