"""The parse-cost weight firmware/ocpp_lite/engine/jsonsyntax.py check() gives a JSON text, for
the host: the fuzz oracle (host_tests/fuzzframes.py) and the footprint's costliest message
(tools/footprint/session.py largest_text). The figures are read from jsonsyntax.py, so both
follow it; the rules are mirrored here (a token at a time, as check() reads them)."""

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

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9][-+0-9.eE]*|true|false|null|[\[{]')
_SPACE = " \t\r\n"


def weight(text):
    """check()'s weight of text (str, strict JSON: check() takes it but for the weight)."""
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
            size = W_STR + ((len(t) + 14) & -16)  # len(t): its length in the text, quotes included
            w += size + (W_KEY if i < n and text[i] == ":" else W_SLOT) + (W_LONG if len(t) > LONG else 0)
        elif c in "-0123456789":
            w += W_BOXED if len(t) > 9 or any(x in t for x in ".eE") else W_SLOT
        else:
            w += W_SLOT
    return w
