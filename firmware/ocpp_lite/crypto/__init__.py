# ocpp_lite/crypto - what the station checks certificates and signatures with: DER, PEM, X.509,
# RSA and ECDSA (P-256) verification, in pure Python. No I/O. The signature checks are also
# steppers: generators that yield between steps of at most some milliseconds and return
# their result, so the asyncio shell can give its loop back during a long check.


def run(g):
    """Drive a stepper to its end at once; its result."""
    try:
        while True:
            next(g)
    except StopIteration as e:
        return e.value
