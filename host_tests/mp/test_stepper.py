# Issue 16: signature checks as steppers (ocpp_lite.crypto: generators that yield between
# steps and return the result). They agree with the one-call checks, come in many short steps,
# and an asyncio task driving one gives the loop back: another task keeps running meanwhile.
import asyncio
import hashlib
from time import ticks_diff, ticks_us
from ocpp_lite.crypto import ecdsa, rsa, run, x509
from test_x509 import DIGEST, EC_SIG, PSS_SIG, ROOT, SIGNER


def _steps(g):
    """(result, steps, longest step in us, total us) of driving stepper g."""
    n = 0
    longest = 0
    t0 = t = ticks_us()
    try:
        while True:
            next(g)
            n += 1
            u = ticks_us()
            longest = max(longest, ticks_diff(u, t))
            t = u
    except StopIteration as e:
        u = ticks_us()
        return e.value, n, max(longest, ticks_diff(u, t)), ticks_diff(u, t0)


def test_steppers_agree_with_the_checks():
    root = x509.parse(ROOT)
    signer = x509.parse(SIGNER)
    wrong = hashlib.sha256(b"unit test date").digest()
    for cert, sig, pss in ((root, EC_SIG, False), (signer, PSS_SIG, True)):
        for d in (DIGEST, wrong):
            assert run(cert.verifying(d, sig, pss)) == cert.verify(d, sig, pss) == (d == DIGEST)
    assert run(signer.signing(root)) and not run(root.signing(signer))
    assert run(ecdsa.steps(root.part(root.key), DIGEST, bytes(64))) is False
    try:
        run(ecdsa.steps(b"\x04" + bytes(64), DIGEST, EC_SIG))
        raise AssertionError("a key off the curve passed")
    except ValueError:
        pass


def test_rsa_stepper_is_exponentiation():
    n = 0xC7F1 * 0xFFF1 * (1 << 1010) + 1  # any odd modulus of 1024+ bits will do for s^e
    for e in (3, 17, 65537, 0x10001 * 7):
        s = 0x1234567890ABCDEF << 900
        g = rsa._open(n, e, s.to_bytes((rsa._bits(n) + 7) // 8, "big"))
        m = run(g)
        assert m is not None and int.from_bytes(m[0], "big") == pow(s, e, n), e


def test_ecdsa_check_comes_in_short_steps():
    """No step of the stepped ECDSA check does a quarter of its point operations, nor more than
    one modular inversion. Counted, not timed: a timed version failed in CI whenever the host
    preempted the test in every one of its tries (4 test processes on 2 cores); how long the
    steps take is the footprint report's ("stalls": instructions per step, callgrind)."""
    root = x509.parse(ROOT)
    cur = [0, 0]  # point operations, inversions (pow) in the step so far
    real_add, real_double = ecdsa._add, ecdsa._double

    def add(a, b):
        cur[0] += 1
        return real_add(a, b)

    def double(p):
        cur[0] += 1
        return real_double(p)

    def inverse(*a):
        cur[1] += 1
        return pow(*a)

    ecdsa._add, ecdsa._double, ecdsa.pow = add, double, inverse
    steps = []
    try:
        g = root.verifying(DIGEST, EC_SIG)
        try:
            while True:
                next(g)
                steps.append(tuple(cur))
                cur[0] = cur[1] = 0
        except StopIteration as e:
            ok = e.value
            steps.append(tuple(cur))
    finally:
        ecdsa._add, ecdsa._double = real_add, real_double
        del ecdsa.pow
    total = sum(s[0] for s in steps)
    assert ok and len(steps) >= 8 and total > 300, steps
    assert max(s[0] for s in steps) * 4 < total, steps
    assert sum(s[1] for s in steps) == 2 and max(s[1] for s in steps) == 1, steps


def test_rsa_check_comes_in_steps():
    signer = x509.parse(SIGNER)
    ok, n, longest, total = _steps(signer.verifying(DIGEST, PSS_SIG, True))
    assert ok and n >= 4  # e = 65537: 16 squarings, a step every 4


def test_the_loop_runs_during_a_check():
    root = x509.parse(ROOT)
    ticks = []
    out = []

    async def other():  # what answers the CSMS meanwhile
        while not out:
            ticks.append(1)
            await asyncio.sleep_ms(0)

    async def check():
        g = root.verifying(DIGEST, EC_SIG)
        try:
            while True:
                next(g)
                await asyncio.sleep_ms(0)
        except StopIteration as e:
            out.append(e.value)

    async def main():
        t = asyncio.create_task(other())
        await check()
        await t

    asyncio.run(main())
    asyncio.new_event_loop()
    assert out == [True] and len(ticks) >= 8, len(ticks)


class _Certs:
    """runtime/certstore.py's interface, in RAM."""

    def __init__(self):
        self.files = {}

    def names(self, kind=None):
        return [n for n, (k, _) in sorted(self.files.items()) if kind is None or k == kind]

    def kind(self, name):
        return self.files[name][0]

    def read(self, name):
        return self.files[name][1]

    def add(self, kind, der):
        self.files["c%d" % len(self.files)] = (kind, bytes(der))

    def remove(self, name):
        self.files.pop(name, None)


def _install(st, der, mid):
    import binascii
    import json

    b64 = binascii.b2a_base64(der).decode().replace("\n", "")
    pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % b64
    st.rpc.receive(json.dumps([2, mid, "InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                             "certificate": pem}]).encode(), 0)


def _answers(st, mid):
    import fakes

    return [f for f in fakes.sent(st) if f[0] in (3, 4) and f[1] == mid]


def _booted():
    """A fake station with a certificate store, connected and Accepted."""
    import fakes

    certs = _Certs()
    st = fakes.station(certs=lambda st: certs)
    st.connected("1", 0)
    boot = fakes.sent(st)[0]
    fakes.answer(st, boot, {"currentTime": "2030-01-01T00:00:00Z", "interval": 60, "status": "Accepted"}, 0)
    fakes.calls(st)
    return st


def test_install_certificate_is_answered_after_its_steps():
    st = _booted()
    _install(st, ROOT, "ic1")
    assert _answers(st, "ic1") == [] and st.rpc.later is not None  # not in one go
    assert st.next_deadline(0) == 0  # the runtime comes back at once, after the others
    ticks = 0
    while st.rpc.later is not None and ticks < 100:
        st.tick(0)
        ticks += 1
    assert ticks >= 5, ticks
    assert _answers(st, "ic1") == [[3, "ic1", {"status": "Accepted"}]]
    assert len(st.certstore.files) == 1
    bad = bytearray(ROOT)
    bad[-5] ^= 1  # the self-signature no longer holds
    _install(st, bad, "ic2")
    while st.rpc.later is not None:
        st.tick(0)
    a = _answers(st, "ic2")
    assert a[0][2]["status"] == "Rejected" and a[0][2]["statusInfo"]["reasonCode"] == "InvalidSignature", a
    _install(st, ROOT, "ic3")  # the link drops meanwhile: no answer, nothing left to run
    st.disconnected(0)
    assert st.rpc.later is None and _answers(st, "ic3") == []


def test_a_call_in_steps_before_the_last_is_answered_is_not_lost():
    """The CSMS sends a second InstallCertificate while the first is still in steps (OCPP-J
    allows one CALL at a time): the first is run to its end and answered, then the second."""
    st = _booted()
    _install(st, ROOT, "ic4")
    assert st.rpc.later is not None
    _install(st, ROOT, "ic5")
    assert _answers(st, "ic4") == [[3, "ic4", {"status": "Accepted"}]] and _answers(st, "ic5") == []
    while st.rpc.later is not None:
        st.tick(0)
    assert _answers(st, "ic5") == [[3, "ic5", {"status": "Accepted"}]]
