# ssl for the 32-bit measuring port (tools/mp32.py) only. Board builds and the PyPI unix port
# freeze micropython-lib's ssl module; the Debian source that port is built from leaves
# micropython-lib out, so this gives the part of it the firmware uses, over the built-in tls.
import tls
from tls import CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER


class SSLContext:
    def __init__(self, protocol):
        self._ctx = tls.SSLContext(protocol)

    @property
    def verify_mode(self):
        return self._ctx.verify_mode

    @verify_mode.setter
    def verify_mode(self, mode):
        self._ctx.verify_mode = mode

    def load_cert_chain(self, certfile, keyfile):
        self._ctx.load_cert_chain(certfile, keyfile)

    def load_verify_locations(self, cafile=None, cadata=None):
        self._ctx.load_verify_locations(cadata)

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        return self._ctx.wrap_socket(sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
                                     server_hostname=server_hostname)
