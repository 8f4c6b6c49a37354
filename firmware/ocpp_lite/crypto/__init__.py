# ocpp_lite/crypto - what the station checks certificates and signatures with: DER, PEM, X.509,
# RSA and ECDSA (P-256) verification, in pure Python. No I/O.
