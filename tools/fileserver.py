"""tools/fileserver.py - a local HTTP(S) file server for firmware downloads and log uploads
(tests, experiments): serves files from memory, records uploads (PUT and POST), and fails on
purpose when told to.

    srv = FileServer(ssl=None)           # or an ssl.SSLContext for https://
    srv.files["/fw.bin"] = data          # GET /fw.bin
    srv.faults["/fw.bin"] = ["cut"]      # the next GET of it: one fault each, in order
    srv.url("/fw.bin"); srv.uploads      # [(method, path, headers, body)]

Faults: "cut" (the connection closes after half the body), "chunked" (chunked transfer
coding), "nolength" (no Content-Length: the body ends with the connection), or an HTTP status
code as a string ("404", "500"). refuse: methods answered 405 (e.g. {"PUT"}); upload_status:
the status for accepted uploads (default 201).
"""

import http.server
import threading


class FileServer:
    def __init__(self, ssl=None, host="127.0.0.1"):
        self.files = {}
        self.faults = {}
        self.uploads = []
        self.requests = []  # (method, path)
        self.refuse = set()
        self.upload_status = 201
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                server.requests.append(("GET", self.path))
                faults = server.faults.get(self.path) or []
                fault = faults.pop(0) if faults else None
                data = server.files.get(self.path)
                if data is None or (fault or "").isdigit():
                    self.send_response(int(fault) if fault else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if fault == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                elif fault != "nolength":
                    self.send_header("Content-Length", str(len(data)))
                if fault in ("nolength", "cut"):
                    self.send_header("Connection", "close")
                self.end_headers()
                if fault == "chunked":
                    for i in range(0, len(data), 1000):
                        part = data[i:i + 1000]
                        self.wfile.write(b"%x;x=y\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
                else:
                    self.wfile.write(data[:len(data) // 2] if fault == "cut" else data)
                if fault in ("nolength", "cut"):
                    self.close_connection = True

            def _upload(self):
                server.requests.append((self.command, self.path))
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if self.command in server.refuse:
                    self.send_response(405)
                else:
                    server.uploads.append((self.command, self.path, dict(self.headers), body))
                    self.send_response(server.upload_status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = _upload

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if ssl:
            self.httpd.socket = ssl.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if ssl else "http"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path, host="127.0.0.1"):
        return "%s://%s:%d%s" % (self.scheme, host, self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
