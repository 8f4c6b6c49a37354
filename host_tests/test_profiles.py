"""Each build profile (tools/profiles.py) reports what it does: the station runs the profile's
ROMFS image, and its device model, its answers to the CSMS and its TriggerMessage support agree
with the modules the profile has (a lite station has no clock-aligned meter values, so it
must not claim them or take an Interval it would ignore)."""

import pytest

from helpers import wait_until
from tools import profiles
from tools.footprint import rom


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    out = tmp_path_factory.mktemp("profiles")
    return {p: rom.build(p, out)[2] for p in profiles.PROFILES}


def report(csms, request_id):
    """{(component, variable): variableAttribute[0]} of a FullInventory."""
    r = csms.raw_call("CS001", "r%d" % request_id, "GetBaseReport", {"requestId": request_id, "reportBase": "FullInventory"})
    assert r.msg[2] == {"status": "Accepted"}
    wait_until(lambda: [f for f in csms.inbound("NotifyReport") if f.payload["requestId"] == request_id
                        and not f.payload.get("tbc")], 10, "last NotifyReport page")
    out = {}
    for f in csms.inbound("NotifyReport"):
        for d in f.payload["reportData"]:
            out[(d["component"]["name"], d["variable"]["name"])] = d["variableAttribute"][0]
    return out


@pytest.mark.parametrize("profile", list(profiles.PROFILES))
def test_a_build_reports_only_what_it_does(csms, sims, images, profile):
    mods = profiles.PROFILES[profile]
    aligned = "ocpp_lite/metering/aligned" in mods
    sc = "ocpp_lite/smartcharging" in mods
    certquery = "ocpp_lite/certificates/query" in mods
    s = sims(csms.url, romfs=images[profile])
    s.wait_event(ev="boot", status="Accepted")
    rep = report(csms, 7)
    assert rep[("AlignedDataCtrlr", "Available")]["value"] == ("true" if aligned else "false")
    for v in ("Interval", "Measurands", "TxEndedInterval", "TxEndedMeasurands"):
        a = rep[("AlignedDataCtrlr", v)]
        assert a["mutability"] == ("ReadWrite" if aligned else "ReadOnly"), v
        if not aligned:
            assert a["value"] in ("0", ""), v  # "no clock-aligned data"
    assert (("SmartChargingCtrlr", "Available") in rep) == sc
    r = csms.raw_call("CS001", "s1", "SetVariables", {"setVariableData": [
        {"component": {"name": "AlignedDataCtrlr"}, "variable": {"name": "Interval"}, "attributeValue": "60"}]})
    assert r.msg[2]["setVariableResult"][0]["attributeStatus"] == ("Accepted" if aligned else "Rejected")
    r = csms.raw_call("CS001", "t1", "TriggerMessage", {"requestedMessage": "MeterValues"})
    assert r.msg[2]["status"] == ("Accepted" if aligned else "NotImplemented")
    r = csms.raw_call("CS001", "c1", "GetInstalledCertificateIds", {})
    assert (r.msg[0] == 3) == certquery and (certquery or r.msg[2] == "NotSupported")
    r = csms.raw_call("CS001", "p1", "GetChargingProfiles", {"requestId": 1, "chargingProfile": {}})
    assert (r.msg[0] == 3) == sc and (sc or r.msg[2] == "NotSupported")
