# runtime/store.py - the station's flash: small JSON documents and binary files written
# atomically (write name.new, then rename over name; rename is atomic on littlefs and POSIX)
# and bounded append-only logs.
import json
import os


class Store:
    def __init__(self, root):
        self.root = root.rstrip("/")
        p = ""
        for part in self.root.split("/"):  # mkdir -p
            p = p + "/" + part if p or not part else part
            try:
                os.mkdir(p)
            except OSError:
                pass  # exists
        self.writes = 0  # file writes since start, for the footprint report

    def path(self, name):
        return self.root + "/" + name

    def load(self, name, default=None):
        try:
            with open(self.path(name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return default

    def save(self, name, obj):
        self.write(name, json.dumps(obj).encode())

    def read(self, name):
        try:
            with open(self.path(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def write(self, name, data):
        p = self.path(name)
        with open(p + ".new", "wb") as f:
            f.write(data)
        os.rename(p + ".new", p)
        self.writes += 1

    def remove(self, name):
        try:
            os.remove(self.path(name))
        except OSError:
            pass

    def names(self, prefix=""):
        return sorted(n for n in os.listdir(self.root) if n.startswith(prefix) and not n.endswith(".new"))

    def append(self, name, line, limit):
        """Append a line to a log of at most ~2*limit bytes: when name passes limit it becomes
        name.1 (replacing the older one) and a new name starts."""
        p = self.path(name)
        try:
            if os.stat(p)[6] + len(line) > limit:
                os.rename(p, p + ".1")
        except OSError:
            pass
        with open(p, "a") as f:
            f.write(line + "\n")
        self.writes += 1
