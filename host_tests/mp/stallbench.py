# host_tests/mp/stallbench.py - issue 16's stall and safety figures on the unix port, for
# `python -m tools.footprint stalls`:  micropython stallbench.py [RUNS]
# (`stallbench.py count install_certificate|firmware_check N` only runs that check N times:
# the tool counts its instructions under callgrind, N and 0 times.)
# Prints one JSON object (times in ms on this host):
#   install_certificate: the InstallCertificate handler's check of an EC P-256 root (parse and
#     self-signature), in steps as the session runs it: total and longest step (the stall);
#   firmware_check: the firmware signature check as runtime/fwupdate.py drives it (the chain:
#     the signer's ECDSA signature by the root; the file's RSA-PSS signature), total and its
#     longest step, which is the stall;
#   contactor: the coil-off latency (min, max over RUNS) after C -> B and after the contacts
#     fall open (feedback fault), idle and during the worst stall (install_certificate's check
#     run back to back), on the ESP32 board package with the fake soft Timer (test_drv_guard.py).
import sys

_here = sys.argv[0].rpartition("/")[0] or "."
sys.path.insert(0, _here + "/../../firmware")
sys.path.insert(0, _here)
import gc  # noqa: E402
import json  # noqa: E402
from time import sleep_ms, ticks_add, ticks_diff, ticks_ms, ticks_us  # noqa: E402
import test_drv_guard as guard  # noqa: E402  (the rig; puts the fake machine on the path)
from test_x509 import DIGEST, PSS_SIG, ROOT, SIGNER  # noqa: E402
from ocpp_lite.certificates import checking, problem  # noqa: E402
from ocpp_lite.crypto import x509  # noqa: E402


def _ms(us):
    return round(us / 1000, 2)


def _install():
    cert = x509.parse(ROOT)
    return (yield from checking(cert, cert.not_before + 1))


def install_certificate(runs):
    best = None
    for _ in range(runs):
        gc.collect()
        why, total, longest = _drive(_install())
        if why is not None:
            raise SystemExit("the root does not check: %s" % why)
        if best is None or longest < best[1]:
            best = (total, longest)
    return {"total": _ms(best[0]), "longest_step": _ms(best[1])}


def _drive(g):
    """(result, total us, longest step us)."""
    longest = 0
    t0 = t = ticks_us()
    try:
        while True:
            next(g)
            u = ticks_us()
            longest = max(longest, ticks_diff(u, t))
            t = u
    except StopIteration as e:
        u = ticks_us()
        return e.value, ticks_diff(u, t0), max(longest, ticks_diff(u, t))


def _firmware():
    root = x509.parse(ROOT)
    signer = x509.parse(SIGNER)
    ok = yield from signer.signing(root)
    return ok and (yield from signer.verifying(DIGEST, PSS_SIG, True))


def firmware_check(runs):
    best = None
    for _ in range(runs):
        gc.collect()
        ok, total, longest = _drive(_firmware())
        if not ok:
            raise SystemExit("the firmware signature does not check")
        if best is None or longest < best[1]:
            best = (total, longest)
    return {"total": _ms(best[0]), "longest_step": _ms(best[1])}


def _latency(kind, busy):
    with guard.Rig() as r:
        r.charging()
        if kind == "feedback":
            sleep_ms(400)  # the contactor's settle time
        fn = r.k.drop if kind == "feedback" else (lambda: setattr(r.ev, "state", "B"))
        t0 = r.at(50 + (ticks_ms() & 31), fn)
        if busy:
            root = x509.parse(ROOT)
            while ticks_diff(ticks_ms(), ticks_add(t0, 200)) < 0:
                problem(root, root.not_before + 1)
        else:
            guard.idle(lambda: not r.k.closed, 1000)
        return r.latency(t0)


def contactor(runs):
    out = {}
    for kind in ("c_to_b", "feedback"):
        for busy in (False, True):
            v = [_latency(kind, busy) for _ in range(runs)]
            out["%s.%s" % (kind, "stall" if busy else "idle")] = [min(v), max(v)]
    return out


def count(what, n):
    for _ in range(n):
        if what == "install_certificate":
            cert = x509.parse(ROOT)
            problem(cert, cert.not_before + 1)
        else:
            _drive(_firmware())


def main():
    if sys.argv[1:2] == ["count"]:
        return count(sys.argv[2], int(sys.argv[3]))
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(json.dumps({"install_certificate": install_certificate(runs), "firmware_check": firmware_check(runs),
                      "contactor": contactor(runs), "budget_ms": guard.BUDGET_MS}))


main()
