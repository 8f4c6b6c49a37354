"""The parse-cost weight firmware/ocpp_lite/engine/jsonsyntax.py check() gives a JSON text, for
the host: the fuzz oracle (host_tests/fuzzframes.py) and the footprint's costliest message
(tools/footprint/session.py largest_text). The figures are read from jsonsyntax.py, so both
follow it; the rules are mirrored here (a token at a time, as check() reads them), and so is
what check() does to a received message before it weighs it (_marked: a legal customData
blanked, DataTransfer's data kept as its text)."""

import pathlib
import re

_SRC = (pathlib.Path(__file__).resolve().parent.parent / "firmware" / "ocpp_lite" / "engine" / "jsonsyntax.py").read_text()


def _const(name):
    return int(re.search(r"^%s = const\((\d+)\)" % name, _SRC, re.M).group(1))


WEIGHT = _const("_WEIGHT")
W_CONTAINER = _const("_W_CONTAINER")
W_STR = _const("_W_STR")
W_KEY = _const("_W_KEY")
W_BOXED = _const("_W_BOXED")
W_SLOT = _const("_W_SLOT")
W_LONG = _const("_W_LONG")
LONG = _const("_LONG")
W_VENDOR = _const("_W_VENDOR")
W_RAW = _const("_W_RAW")
VENDOR_MAX = _const("_VENDOR_MAX")

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9][-+0-9.eE]*|true|false|null|[\[{]')
_SPACE = " \t\r\n"


def weight(text, marked=True):
    """check()'s weight of text (str, strict JSON: check() takes it but for the weight); marked:
    as the station weighs a received message (_marked), else weighed whole."""
    if marked:
        own = "\\u0000" in text
        text, built = _marked(text)
        if built and own:  # engine/lift.py keeps nothing: the data is built
            text = built
    w = 0
    n = len(text)
    for m in _TOKEN.finditer(text):
        t = m.group()
        c = t[0]
        if c in "[{":
            w += W_CONTAINER
        elif c == '"':
            i = m.end()
            while i < n and text[i] in _SPACE:
                i += 1
            b = len(t.encode())  # its length in the text as check() reads it: UTF-8 bytes, quotes included
            size = W_STR + ((b + 14) & -16)
            w += size + (W_KEY if i < n and text[i] == ":" else W_SLOT) + (W_LONG if b > LONG else 0)
        elif c in "-0123456789":
            w += W_BOXED if len(t) > 9 or any(x in t for x in ".eE") else W_SLOT
        else:
            w += W_SLOT
    return w


_WS = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SCALAR = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9][-+0-9.eE]*|true|false|null')


def _marked(text):
    """(text as check() weighs it, the same with its data built, or None without a data):
    every legal customData (an object whose members include exactly one vendorId, a string of
    at most VENDOR_MAX bytes in the text) replaced by a short one (W_VENDOR), DataTransfer's
    data (a payload member) by a short string (W_RAW)."""
    cuts = []  # (start, end, replacement)

    def value(i, depth, key, inside):
        """Walk the value at text[i] (depth: of the container it is in; inside: a data or a
        customData object, where check() marks nothing more); returns its end."""
        i = _WS.match(text, i).end()
        c = text[i]
        mark = not inside and (key == "data" and depth == 2 or key == "customData" and c == "{")
        if c == "{":
            members = []
            j = _WS.match(text, i + 1).end()
            if text[j] == "}":
                end = j + 1
            else:
                while True:
                    j = _WS.match(text, j).end()
                    k = _STRING.match(text, j)
                    name = k.group()[1:-1]
                    j = _WS.match(text, k.end()).end() + 1  # past ':'
                    v0 = _WS.match(text, j).end()
                    j = value(v0, depth + 1, name, inside or mark)
                    members.append((name, text[v0:j]))
                    j = _WS.match(text, j).end()
                    if text[j] == "}":
                        end = j + 1
                        break
                    j += 1
        elif c == "[":
            j = _WS.match(text, i + 1).end()
            if text[j] == "]":
                end = j + 1
            else:
                while True:
                    j = value(j, depth + 1, None, inside or mark)
                    j = _WS.match(text, j).end()
                    if text[j] == "]":
                        end = j + 1
                        break
                    j += 1
        else:
            end = _SCALAR.match(text, i).end()
        if not mark:
            pass
        elif key == "data":
            cuts.append((i, end, '"\\u0000x"'))
        else:
            ids = [v for k, v in members if k == "vendorId"]
            if len(ids) == 1 and ids[0][:1] == '"' and len(ids[0].encode()) <= VENDOR_MAX:
                cuts.append((i, end, '{"vendorId":""}'))
        return end

    value(0, 0, None, False)
    # a value inside one cut is cut with it: keep the outermost of each
    cuts.sort(key=lambda c: (c[0], -c[1]))

    datas = [(s, e) for s, e, r in cuts if r[0] == '"']

    def cut(data):
        out, at = [], 0
        for s, e, r in cuts:
            if s < at or not data and any(a <= s < b for a, b in datas):  # (check() blanks none in a data)
                continue
            out.append(text[at:s])
            out.append(r)
            at = e
        out.append(text[at:])
        return "".join(out)

    return cut(True), (cut(False) if datas else None)
