# host_tests/mp/test_release.py - the services created on first use (Station.__getattr__) are
# let go of, with the modules their creation imported, once they hold no work; what must
# outlive them (the last firmware update's status) does.
import json
import sys
import ocpp_lite
from fakes import accepted as _accepted, answer, calls as _calls, sent

_GETVAR = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}


def _request(st, mid, action, payload, calls=None):
    """The station's answer to a CSMS CALL (the CALLs it sent meanwhile go to calls)."""
    st.rpc.receive(json.dumps([2, mid, action, payload]).encode(), 0)
    frames = sent(st)
    if calls is not None:
        calls.extend(m for m in frames if m[0] == 2)
    return [m for m in frames if m[1] == mid][0]


def test_a_handler_and_its_code_are_released_once_answered():
    st = _accepted()
    assert "ocpp_lite.provisioning.variables" not in sys.modules
    first = _request(st, "g1", "GetVariables", _GETVAR)
    assert first[0] == 3 and first[2]["getVariableResult"][0]["attributeStatus"] == "Accepted", first
    assert st.loaded("provisioning") is None
    assert "ocpp_lite.provisioning.variables" not in sys.modules
    assert not hasattr(sys.modules["ocpp_lite.provisioning"], "variables")  # the package lets go too
    again = _request(st, "g2", "GetVariables", _GETVAR)  # imported afresh, answers the same
    assert again[2] == first[2], (first, again)
    assert st.loaded("provisioning") is None


def test_a_call_is_admitted_without_loading_its_handlers_code():
    """dispatch.admit runs before the payload is parsed: the handler's module is not loaded
    for it (Station.offers), so it is not in the heap during the parse."""
    from ocpp_lite import dispatch
    from ocpp_lite.engine.rpc import CallError

    st = _accepted()
    for _ in range(2):
        dispatch.admit(st, "GetVariables", 100)
        assert st.loaded("provisioning") is None
        assert "ocpp_lite.provisioning.variables" not in sys.modules
    had = set(sys.modules)
    dispatch.admit(st, "RequestStopTransaction", 100)
    assert st.loaded("remote") is None and set(sys.modules) == had
    try:
        dispatch.admit(st, "SendLocalList", 100)  # known to OCPP 2.0.1, in no block here
        raise AssertionError("admitted")
    except CallError as e:
        assert e.args[0] == "NotSupported", e.args
    try:  # over BytesPerMessage[SetVariables]: answered before the code is loaded
        dispatch.admit(st, "SetVariables", 100000)
        raise AssertionError("admitted")
    except CallError as e:
        assert e.args[0] == "FormatViolation", e.args
    assert "ocpp_lite.provisioning.variables" not in sys.modules
    r = _request(st, "g1", "GetVariables", _GETVAR)  # and the handler still answers
    assert r[2]["getVariableResult"][0]["attributeStatus"] == "Accepted", r


def test_the_text_is_let_go_of_before_the_handler_runs():
    """A message handed over in a list (as runtime/link.py does): the session takes it out,
    and once parsed the text is no longer in the heap while the handler runs; handed over as
    it is, the caller holds it."""
    import gc

    st = _accepted()
    free = []

    def status(payload, now):
        gc.collect()
        free.append(gc.mem_free())
        return {"messagesInQueue": False}

    st.transactions.GetTransactionStatus = status
    for k in range(2):
        text = bytearray(b'[2,"s%d","GetTransactionStatus",{}' % k + b" " * 6000 + b"]")
        box = [text] if k else text
        text = None
        st.rpc.receive(box, 0)
        if k:
            assert box == []
        box = None
        assert [m for m in sent(st) if m[1] == "s%d" % k][0][2] == {"messagesInQueue": False}
    assert free[1] - free[0] >= 5000, free  # the 6 kB text: held the first time, not the second


def test_a_busy_service_is_kept_until_its_work_ends():
    st = _accepted()
    frames = []
    r = _request(st, "b1", "GetBaseReport", {"requestId": 3, "reportBase": "FullInventory"}, frames)
    assert r[2] == {"status": "Accepted"}, r
    pages = 0
    for _ in range(100):
        if not frames:
            break
        for m in frames:
            assert m[2] == "NotifyReport", m
            pages += 1
            if m[3].get("tbc"):  # pages to follow: the report's state is kept
                assert st.loaded("provisioning") is not None
            answer(st, m, {}, 0)
        st.tick(0)
        frames = [m for m in sent(st) if m[0] == 2]
    assert pages > 1 and not frames
    assert st.loaded("provisioning") is None  # the last page was answered
    assert "ocpp_lite.provisioning.variables" not in sys.modules
    # a tap: the authorization block stays while its Authorize is out
    st.authorization.tap("AA11", "ISO14443", 0)
    st.tick(0)
    auth = [m for m in sent(st) if m[0] == 2 and m[2] == "Authorize"]
    assert len(auth) == 1 and st.loaded("authorization") is not None
    answer(st, auth[0], {"idTokenInfo": {"status": "Accepted"}}, 0)
    assert st.loaded("authorization") is None and "ocpp_lite.authorization" not in sys.modules


def test_the_last_firmware_status_outlives_the_released_code():
    st = _accepted()
    fw = st.firmware
    fw.job = {"id": 5, "url": "http://x/f", "get": 0, "put": None, "tries": 1, "wait": 0, "cert": "", "sig": "",
              "status": None}  # a job as UpdateFirmware makes it (a new dict, not the boot document)
    st.tick(0)
    assert st.loaded("firmware") is fw  # an update going on keeps it
    fw.report("DownloadFailed", 0)
    _calls(st)
    assert st.loaded("firmware") is None and "ocpp_lite.firmware" not in sys.modules
    frames = []
    r = _request(st, "t1", "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}, frames)
    assert r[2] == {"status": "Accepted"}, r
    notes = [m[3] for m in frames + _calls(st) if m[2] == "FirmwareStatusNotification"]
    assert notes == [{"status": "DownloadFailed", "requestId": 5}], notes  # F06.FR.16, L01.FR.25


def test_release_leaves_the_eager_blocks_alone():
    st = _accepted()
    _request(st, "g1", "GetVariables", _GETVAR)
    for m in ("ocpp_lite.transactions", "ocpp_lite.availability", "ocpp_lite.engine.session",
              "ocpp_lite.provisioning.devmodel"):
        assert m in sys.modules, m
    assert ocpp_lite.provisioning.devmodel is sys.modules["ocpp_lite.provisioning.devmodel"]


def test_the_runtime_lets_go_of_its_provisioning_module_once_the_station_is_built():
    import os
    from test_never_silent import Board
    from runtime import config
    from runtime.app import App
    from runtime.store import Store

    root = "/tmp/ocpp-lite-release-%d" % int.from_bytes(os.urandom(4), "little")
    store = Store(root)
    config.provision(store, {"MaxMessageBytes": "4096"}, "ws://127.0.0.1:9/ocpp", "CS1")
    assert "runtime.config" in sys.modules
    app = App(Board(), Store(root))
    assert app.settings["MaxMessageBytes"] == 4096  # read before it went
    assert "runtime.config" not in sys.modules and not hasattr(sys.modules["runtime"], "config")
    from runtime import config as again  # provisioning later imports it afresh

    assert again is not config and again.station(store)["MaxMessageBytes"] == 4096


def test_a_transfer_task_lets_go_of_its_code_when_it_ends():
    """Found reading App._job: the log upload's and the firmware download's modules (and
    runtime/http.py with them) stayed in the heap for good after the first GetLog or
    UpdateFirmware. A GetLog to a server that is not there: the upload task fails, ends,
    and its modules go."""
    import asyncio
    import os
    from test_never_silent import Board
    from runtime.app import App
    from runtime.store import Store

    root = "/tmp/ocpp-lite-release-%d" % int.from_bytes(os.urandom(4), "little")
    app = App(Board(), Store(root))
    st = app.st
    st.rpc.accepted = True
    for m in ("runtime.logupload", "runtime.http", "runtime.fwupdate"):
        assert m not in sys.modules, m
    st.rpc.receive(json.dumps([2, "l1", "GetLog", {"log": {"remoteLocation": "http://127.0.0.1:9/up"},
                                                     "logType": "DiagnosticsLog", "requestId": 5,
                                                     "retries": 0}]).encode(), 0)
    app._effects()
    task = app._jobs["upload"]
    assert "runtime.logupload" in sys.modules and "runtime.http" in sys.modules

    async def ended():
        await task

    asyncio.run(ended())
    assert [x for x in app.board.logs if "log upload 1 failed" in x], app.board.logs
    assert "upload" not in app._jobs
    for m in ("runtime.logupload", "runtime.http", "runtime.fwupdate"):
        assert m not in sys.modules, m
    assert not hasattr(sys.modules["runtime"], "logupload")
    st.tick(0)
    assert st.loaded("diagnostics") is None  # the job ended: UploadFailure reported
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)


def test_the_crypto_a_certificate_check_imported_goes_with_the_service():
    """Found reading the certificates block: the crypto package and the signature algorithm
    x509.py imports when it checks one (ecdsa or rsa) were imported after the service was
    created, so Station.release never let go of them (about 1.7 kB for good after the first
    InstallCertificate). They go with the service now."""
    from test_stepper import ROOT, _answers, _booted, _install

    from ocpp_lite.station import forget

    for m in [m for m in sys.modules if m.startswith("ocpp_lite.crypto")]:  # (other tests' imports)
        forget(m)
    st = _booted()
    assert not [m for m in sys.modules if m.startswith("ocpp_lite.crypto")]
    _install(st, ROOT, "ic1")
    while st.rpc.later is not None:
        assert st.loaded("certificates") is not None  # kept while it checks, in steps
        st.tick(0)
    assert _answers(st, "ic1") == [[3, "ic1", {"status": "Accepted"}]]
    assert st.loaded("certificates") is None
    assert not [m for m in sys.modules if m.startswith("ocpp_lite.crypto") or m.startswith("ocpp_lite.certificates")], \
        [m for m in sys.modules if "crypto" in m]


def test_the_network_profiles_are_not_kept_online_and_are_loaded_again_offline():
    """The network block (its profiles document) is let go of once online and made again from
    the flash when the link goes down; a profile set meanwhile is there, and so is one whose
    read failed once (an offline block with no profile is let go of, the next attempt reads
    again)."""
    from fakes import NET

    st = _accepted()
    assert st.loaded("network") is None
    prof = dict(NET["profiles"]["1"], ocppCsmsUrl="ws://other/ocpp")
    r = _request(st, "n1", "SetNetworkProfile", {"configurationSlot": 2, "connectionData": prof})
    assert r[2] == {"status": "Accepted"}, r
    assert st.loaded("network") is None  # online: the profiles are the flash's only
    st.disconnected(0)
    net = st.network  # (made by the link's next attempt)
    assert sorted(net.doc["profiles"]) == ["1", "2"], net.doc
    assert net.current() == ("1", NET["profiles"]["1"])
    st.tick(0)
    assert st.loaded("network") is net  # offline with profiles: kept for the attempts
    # a read of the flash that fails once: no profile, let go of, and read again next time
    st = _accepted()
    assert st.loaded("network") is None
    real = st.load
    st.load = lambda name: None if name == "net" else real(name)
    st.disconnected(0)
    assert st.network.current() == (None, None)
    st.tick(0)
    assert st.loaded("network") is None
    st.load = real
    assert st.network.current() == ("1", NET["profiles"]["1"])
    st.tick(0)
    assert st.loaded("network") is not None  # offline with a profile: kept for the attempts
