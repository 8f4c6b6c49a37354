# A TLS-terminating TCP proxy on the MicroPython unix port (host_tests/test_tls_fragment.py):
# TLS from the station, plain TCP on to the CSMS. Its TLS stack is MicroPython's mbedTLS with
# the stock configuration, which has no MBEDTLS_SSL_MAX_FRAGMENT_LENGTH: it ignores the
# station's max_fragment_length extension (the ServerHello carries none) and sends records of
# up to its 4 kB output buffer, as a CSMS that does not honour the extension would.
#   micropython tls_proxy_nomfl.py CERT.pem KEY.pem LISTEN_PORT TARGET_PORT
import asyncio
import ssl
import sys

CHUNK = 16384  # read from the CSMS in pieces this large: one write, records as large as mbedTLS makes


async def pipe(r, w, n):
    try:
        while True:
            b = await r.read(n)
            if not b:
                break
            w.write(b)
            await w.drain()
    except Exception as e:
        print("proxy: pipe ended: %r" % e)
    try:
        w.close()
    except Exception:
        pass


async def main(cert, key, port, target):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with open(cert, "rb") as f:
        cert = f.read()
    with open(key, "rb") as f:
        key = f.read()
    ctx.load_cert_chain(cert, key)

    async def conn(r, w):
        print("proxy: connection")
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            w.close()
            return
        asyncio.create_task(pipe(ur, w, CHUNK))
        await pipe(r, uw, 2048)

    await asyncio.start_server(conn, "127.0.0.1", port, ssl=ctx)
    print("proxy: listening on %d" % port)
    while True:
        await asyncio.sleep(3600)


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
