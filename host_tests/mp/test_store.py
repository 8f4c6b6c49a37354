# The flash store (runtime/store.py) on littlefs (vfs.VfsLfs2), as on the boards: atomic
# documents, recovery from a damaged copy, and a power cut at every single block write of a
# store update, of SetVariables and of SetNetworkProfile. Runs on the unix port.
import json
from flashsim import MOUNT, fresh, power_cuts
from fakes import NET, sent, station
from runtime.store import Store

ROOT = MOUNT + "/state"
OLD = {"OCPPCommCtrlr.OfflineThreshold": 111}
NEW = {"OCPPCommCtrlr.OfflineThreshold": 222, "TxCtrlr.StopTxOnInvalidId": False}


def _image(docs):
    f = fresh()
    s = Store(ROOT)
    for name, doc in docs.items():
        s.save(name, doc)
    return bytes(f.data)


def test_save_load_and_alternating_copies():
    fresh()
    s = Store(ROOT)
    assert s.load("vars") is None
    for i in range(5):
        s.save("vars", {"n": i})
        assert Store(ROOT).load("vars") == {"n": i}
    import os
    assert sorted(n for n in os.listdir(ROOT)) == ["vars.0", "vars.1"]
    s.save("vars", {"org": "\u00c9lectricit\u00e9 \u20ac"})  # non-ASCII: the header counts bytes
    assert Store(ROOT).load("vars") == {"org": "\u00c9lectricit\u00e9 \u20ac"} and not Store(ROOT).damaged


def test_damaged_copy_falls_back_to_the_last_good_state():
    fresh()
    s = Store(ROOT)
    s.save("vars", OLD)
    s.save("vars", NEW)  # NEW in vars.1, OLD in vars.0
    with open(ROOT + "/vars.1", "r+b") as f:
        f.seek(20)
        f.write(b"#")
    s2 = Store(ROOT)
    assert s2.load("vars") == OLD and s2.damaged == ("vars",)
    s2.save("vars", {"x": 1})  # overwrites the damaged copy, never the good one
    assert Store(ROOT).load("vars") == {"x": 1}
    with open(ROOT + "/vars.0", "wb") as f:
        f.write(b"garbage")
    with open(ROOT + "/vars.1", "wb") as f:
        f.write(b"1 00000000 2\n{}")
    s3 = Store(ROOT)
    assert s3.load("vars") is None and s3.damaged == ("vars",)  # both bad: defaults apply


def _cut_saves():
    """A power cut at every block write of a store update, from small to large and back."""
    big = dict(("key%03d" % i, "value %d " % i * 4) for i in range(60))  # ~2.5 kB: not inline
    for old, new in ((OLD, NEW), (OLD, big), (big, NEW)):
        img = _image({"vars": old})

        def action():
            Store(ROOT).save("vars", new)

        def check(finished):
            v = Store(ROOT).load("vars")
            assert v == new if finished else v in (old, new), v

        n = power_cuts(img, action, check)
        print("cuts store_save", n)  # counted by host_tests/test_campaign_power.py
        assert n >= (4 if big in (old, new) else 3), n


def test_power_cut_at_every_block_write_of_a_save():
    _cut_saves()


class _NoRoom:
    """json for runtime/store.py in a heap without a piece of the text's size: dumps fails, so
    save writes the text as it is made (its fallback)."""

    @staticmethod
    def dumps(obj):
        raise MemoryError

    dump = staticmethod(json.dump)
    loads = staticmethod(json.loads)


def test_power_cut_at_every_block_write_of_a_save_written_as_made():
    import runtime.store as store_mod

    try:
        store_mod.json = _NoRoom
        _cut_saves()
    finally:
        store_mod.json = json


def _cut_station_update(img, frame, key_of, old, new):
    """Cut the power at every block write while a station handles frame; after each cut the
    station boots from what is on flash, with the old or the new value."""
    seen = set()

    def action():
        s = Store(ROOT)
        st = station(vars=s.load("vars"), net=s.load("net"))
        st.save = s.save
        st.rpc.receive(frame, 0)
        reply = [f for f in sent(st) if f[0] in (3, 4)][0]
        if "StorageFailed" in json.dumps(reply) or '"Failed"' in json.dumps(reply):
            raise OSError(5)  # the handler saw the flash fail: the power is out

    def check(finished):
        s = Store(ROOT)
        st = station(vars=s.load("vars"), net=s.load("net"))  # the station boots
        v = key_of(st)
        assert v == new if finished else v in (old, new), (finished, v)
        seen.add(v)
        st.connected("1", 0)
        assert sent(st)[0][2] == "BootNotification"

    n = power_cuts(img, action, check)
    print("cuts station_update", n)
    assert n >= 3 and seen == {old, new}, (n, seen)


def test_power_cut_during_set_variables():
    frame = json.dumps([2, "s1", "SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}, "attributeValue": "222"}]}])
    _cut_station_update(_image({"vars": OLD, "net": NET}), frame.encode(),
                        lambda st: st.devmodel.get("OCPPCommCtrlr.OfflineThreshold"), 111, 222)


def test_power_cut_during_set_network_profile():
    prof = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "ws://other/ocpp",
            "messageTimeout": 20, "securityProfile": 1, "ocppInterface": "Wireless0"}
    frame = json.dumps([2, "n1", "SetNetworkProfile", {"configurationSlot": 2, "connectionData": prof}])
    _cut_station_update(_image({"vars": OLD, "net": NET}), frame.encode(),
                        lambda st: st.network.doc["profiles"].get("2", {}).get("ocppCsmsUrl"), None, "ws://other/ocpp")
