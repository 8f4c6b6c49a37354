"""Device model and provisioning messages (B05-B07) against the `ocpp` CSMS: GetVariables,
SetVariables, GetBaseReport with NotifyReport paging, persistence across a restart."""

import datetime
import json
import time

import pytest
from ocpp.v201 import call

from helpers import wait_until

OCPP = "OCPPCommCtrlr"


def cv(component, variable, evse=None, instance=None, connector=None, **kw):
    c = {"name": component}
    if evse is not None:
        c["evse"] = {"id": evse}
        if connector is not None:
            c["evse"]["connectorId"] = connector
    v = {"name": variable}
    if instance:
        v["instance"] = instance
    return dict(component=c, variable=v, **kw)


def get(csms, *items, station="CS001"):
    r = csms.call(station, call.GetVariables(get_variable_data=list(items)))
    return r.get_variable_result


def set_(csms, *items, station="CS001"):
    r = csms.call(station, call.SetVariables(set_variable_data=list(items)))
    return r.set_variable_result


def _no_error(res):
    """attributeStatusInfo is absent or says NoError (the OCTT's check on an Accepted result)."""
    info = res.get("attribute_status_info")
    return info is None or info["reason_code"] == "NoError"


@pytest.mark.octt("TC_B_06_CS")
def test_TC_B_06_CS_get_single_value(csms, sim):
    # configuration state: OfflineThreshold is 300 (the default)
    [r] = get(csms, cv(OCPP, "OfflineThreshold", attribute_type="Actual"))
    assert (r["attribute_status"], r["attribute_type"], r["attribute_value"]) == ("Accepted", "Actual", "300"), r
    assert r["component"] == {"name": OCPP} and r["variable"] == {"name": "OfflineThreshold"}
    assert _no_error(r), r


@pytest.mark.octt("TC_B_07_CS")
def test_TC_B_07_CS_get_multiple_values(csms, sim):
    # configuration state: OfflineThreshold 300 and LocalAuthorizeOffline true (the defaults)
    res = get(csms, cv(OCPP, "OfflineThreshold", attribute_type="Actual"),
              cv("AuthCtrlr", "LocalAuthorizeOffline", attribute_type="Actual"))
    by_name = {r["variable"]["name"]: r for r in res}
    assert sorted(by_name) == ["LocalAuthorizeOffline", "OfflineThreshold"], res
    for name, comp, value in (("OfflineThreshold", OCPP, "300"), ("LocalAuthorizeOffline", "AuthCtrlr", "true")):
        r = by_name[name]
        assert (r["attribute_status"], r["attribute_type"], r["attribute_value"]) == ("Accepted", "Actual", value), r
        assert r["component"] == {"name": comp} and _no_error(r), r


def test_get_values_per_evse_and_connector(csms, sims):
    s = sims(csms.url, evses=2)
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("StatusNotification", n=2)  # both boot reports out: a queued one would be coalesced
    s.send(op="plug", evse=2)
    sn = csms.wait_call("StatusNotification", n=3)
    assert (sn.payload["evseId"], sn.payload["connectorStatus"]) == (2, "Occupied")
    res = get(csms, cv("EVSE", "AvailabilityState", evse=2),
              cv("Connector", "ConnectorType", evse=1, connector=1),
              cv("DeviceDataCtrlr", "ItemsPerMessage", instance="GetVariables"),
              cv("ClockCtrlr", "DateTime"))
    assert [r["attribute_status"] for r in res] == ["Accepted"] * 4
    assert res[0]["attribute_value"] == "Occupied"
    assert res[1]["attribute_value"] == "sType2"
    assert res[2]["attribute_value"] == "4"
    assert res[2]["variable"] == {"name": "ItemsPerMessage", "instance": "GetVariables"}
    assert res[3]["attribute_value"].endswith("Z")


# TC_B_32/33/34: one GetVariables item each; (item, expected attributeStatus)
@pytest.mark.parametrize("item,status", [
    pytest.param(cv("UnknownComponent", "OfflineThreshold"), "UnknownComponent",
                 marks=pytest.mark.octt("TC_B_32_CS"), id="B_32"),
    pytest.param(cv(OCPP, "UnknownVariable"), "UnknownVariable",
                 marks=pytest.mark.octt("TC_B_33_CS"), id="B_33"),
    pytest.param(cv(OCPP, "OfflineThreshold", attribute_type="Target"), "NotSupportedAttributeType",
                 marks=pytest.mark.octt("TC_B_34_CS"), id="B_34"),
])
def test_get_variables_unknown_or_unsupported(csms, sim, item, status):
    [r] = get(csms, item)
    assert r["attribute_status"] == status, r
    assert r["component"] == item["component"] and r["variable"] == item["variable"], r
    assert r.get("attribute_type") == item.get("attribute_type"), r  # echoed when it was sent
    assert "attribute_value" not in r, r


def test_unknown_evse_is_an_unknown_component_and_nothing_unknown_has_a_value(csms, sim):
    res = get(csms, cv("NoSuchCtrlr", "X"), cv(OCPP, "NoSuchVariable"),
              cv(OCPP, "OfflineThreshold", attribute_type="MaxSet"), cv("EVSE", "Power", evse=9))
    assert [r["attribute_status"] for r in res] == [
        "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType", "UnknownComponent"]
    assert res[2]["attribute_type"] == "MaxSet"
    assert all("attribute_value" not in r for r in res)


def test_names_are_case_insensitive_and_write_only_is_never_read(csms, sim):
    res = get(csms, cv("ocppcommctrlr", "offlinethreshold"), cv("SecurityCtrlr", "BasicAuthPassword"))
    assert res[0]["attribute_status"] == "Accepted"
    assert res[1]["attribute_status"] == "Rejected" and "attribute_value" not in res[1]


def test_items_and_bytes_per_message_are_enforced(csms, sim):
    items = [{"component": {"name": OCPP}, "variable": {"name": "OfflineThreshold"}}] * 5
    r = csms.raw_call("CS001", "g5", "GetVariables", {"getVariableData": items})
    assert r.kind == 3, r.msg  # B06.FR.16 allows a CALLERROR; TC_B_08_CS wants every item Rejected
    assert [x["attributeStatus"] for x in r.payload["getVariableResult"]] == ["Rejected"] * 5
    assert {x["attributeStatusInfo"]["reasonCode"] for x in r.payload["getVariableResult"]} == {"TooManyElements"}
    pad = {"vendorId": "x" * 255, "note": "y" * 1200}
    big = [{"component": {"name": OCPP, "customData": pad}, "variable": {"name": "OfflineThreshold"}}]
    r = csms.raw_call("CS001", "gb", "GetVariables", {"getVariableData": big})
    assert r.msg[:3] == [4, "gb", "FormatViolation"]  # B06.FR.17: over 1500 bytes
    sets = [{"component": {"name": OCPP}, "variable": {"name": "OfflineThreshold"}, "attributeValue": "1"}] * 5
    r = csms.raw_call("CS001", "s5", "SetVariables", {"setVariableData": sets})
    assert [x["attributeStatus"] for x in r.payload["setVariableResult"]] == ["Rejected"] * 5, r.msg
    [ok] = get(csms, cv(OCPP, "OfflineThreshold"))
    assert ok["attribute_value"] == "300"  # nothing of the refused request was applied


def test_set_values_take_effect_and_persist(csms, sims, tmp_path):
    csms.interval = 300
    state = tmp_path / "flash"
    s = sims(csms.url, state=state)
    s.wait_event(ev="boot", status="Accepted")
    res = set_(csms, cv(OCPP, "OfflineThreshold", attribute_value="77"),
               cv(OCPP, "HeartbeatInterval", attribute_value="1"),
               cv("TxCtrlr", "StopTxOnInvalidId", attribute_value="false"),
               cv("SampledDataCtrlr", "TxUpdatedMeasurands", attribute_value="Voltage,Current.Import"))
    assert [r["attribute_status"] for r in res] == ["Accepted"] * 4
    # HeartbeatInterval takes effect at once: heartbeats every second
    n = len(csms.inbound("Heartbeat"))
    beats = [csms.wait_call("Heartbeat", n=n + i, timeout=4) for i in (1, 2, 3)]
    assert all(0.8 < b.t - a.t < 1.6 for a, b in zip(beats, beats[1:]))
    s.kill()  # power cut, then the same flash
    s2 = sims(None, state=state, ident=None)
    s2.wait_event(ev="boot", status="Accepted")
    vals = [r["attribute_value"] for r in get(csms, cv(OCPP, "OfflineThreshold"), cv("TxCtrlr", "StopTxOnInvalidId"),
                                              cv("SampledDataCtrlr", "TxUpdatedMeasurands"))]
    assert vals == ["77", "false", "Voltage,Current.Import"]


@pytest.mark.parametrize("item,reason", [
    (cv(OCPP, "OfflineThreshold", attribute_value="soon"), "InvalidValue"),
    (cv(OCPP, "OfflineThreshold", attribute_value="-5"), "ValueOutOfRange"),
    (cv(OCPP, "HeartbeatInterval", attribute_value="0"), "ValueOutOfRange"),
    (cv("TxCtrlr", "StopTxOnInvalidId", attribute_value="yes"), "InvalidValue"),
    (cv("SampledDataCtrlr", "TxEndedMeasurands", attribute_value="Energy.Active.Import.Register,SoC"),
     "InvalidValue"),
    (cv(OCPP, "NetworkConfigurationPriority", attribute_value="1,1"), "InvalidValue"),
    (cv(OCPP, "NetworkConfigurationPriority", attribute_value="2"), "InvalidProfile"),  # slot 2 empty
    (cv("SecurityCtrlr", "BasicAuthPassword", attribute_value="too-short"), "ValueOutOfRange"),
])
def test_invalid_values_rejected_with_reason(csms, sim, item, reason):
    [r] = set_(csms, item)
    assert r["attribute_status"] == "Rejected" and r["attribute_status_info"]["reason_code"] == reason


def _b08_variables(data, n):
    """n readable station-wide variables of a FullInventory report, as GetVariables items."""
    out = []
    for d in data:
        if "evse" in d["component"] or d["variableAttribute"][0]["mutability"] == "WriteOnly":
            continue
        out.append({"component": d["component"], "variable": d["variable"]})
        if len(out) == n:
            return out
    raise AssertionError("fewer than %d readable variables reported" % n)


@pytest.mark.octt("TC_B_08_CS")
def test_TC_B_08_CS_get_variables_over_items_per_message(csms, sim):
    pages = _report(csms, "FullInventory", 808)
    data = [d for p in pages for d in p.payload["reportData"]]
    [most] = get(csms, cv("DeviceDataCtrlr", "ItemsPerMessage", instance="GetVariables"))
    n = int(most["attribute_value"]) + 1
    r = csms.raw_call("CS001", "b08", "GetVariables", {"getVariableData": _b08_variables(data, n)})
    assert r.kind == 3, "no GetVariablesResponse: %r" % (r.msg,)
    statuses = [x["attributeStatus"] for x in r.payload["getVariableResult"]]
    assert len(statuses) == n, statuses
    assert statuses == ["Rejected"] * n or statuses == ["Accepted"] * (n - 1) + ["Rejected"], statuses


@pytest.mark.octt("TC_B_09_CS")
def test_TC_B_09_CS_set_single_value(csms, sim):
    [r] = set_(csms, cv(OCPP, "OfflineThreshold", attribute_value="300", attribute_type="Actual"))
    assert (r["attribute_status"], r["attribute_type"]) == ("Accepted", "Actual"), r
    assert r["component"] == {"name": OCPP} and r["variable"] == {"name": "OfflineThreshold"}, r
    assert _no_error(r), r
    [g] = get(csms, cv(OCPP, "OfflineThreshold"))
    assert g["attribute_value"] == "300"


@pytest.mark.octt("TC_B_10_CS")
def test_TC_B_10_CS_set_multiple_values(csms, sim):
    res = set_(csms, cv(OCPP, "OfflineThreshold", attribute_value="300", attribute_type="Actual"),
               cv("AuthCtrlr", "LocalAuthorizeOffline", attribute_value="true", attribute_type="Actual"))
    by_name = {r["variable"]["name"]: r for r in res}
    assert sorted(by_name) == ["LocalAuthorizeOffline", "OfflineThreshold"], res
    for name, comp in (("OfflineThreshold", OCPP), ("LocalAuthorizeOffline", "AuthCtrlr")):
        r = by_name[name]
        assert (r["attribute_status"], r["attribute_type"]) == ("Accepted", "Actual"), r
        assert r["component"] == {"name": comp} and _no_error(r), r


# TC_B_35/36/37/39: one SetVariables item each; (item, expected attributeStatus)
@pytest.mark.parametrize("item,status", [
    pytest.param(cv("UnknownComponent", "OfflineThreshold", attribute_value="300"), "UnknownComponent",
                 marks=pytest.mark.octt("TC_B_35_CS"), id="B_35"),
    pytest.param(cv(OCPP, "UnknownVariable", attribute_value="300"), "UnknownVariable",
                 marks=pytest.mark.octt("TC_B_36_CS"), id="B_36"),
    pytest.param(cv(OCPP, "OfflineThreshold", attribute_value="300", attribute_type="Target"),
                 "NotSupportedAttributeType", marks=pytest.mark.octt("TC_B_37_CS"), id="B_37"),
    pytest.param(cv(OCPP, "MessageTimeout", instance="Default", attribute_value="30"), "Rejected",
                 marks=pytest.mark.octt("TC_B_39_CS"), id="B_39"),
])
def test_set_variables_unknown_unsupported_or_read_only(csms, sim, item, status):
    before = get(csms, cv(OCPP, "OfflineThreshold"), cv(OCPP, "MessageTimeout", instance="Default"))
    [r] = set_(csms, item)
    assert r["attribute_status"] == status, r
    assert r["component"] == item["component"] and r["variable"] == item["variable"], r
    assert r.get("attribute_type") == item.get("attribute_type"), r
    after = get(csms, cv(OCPP, "OfflineThreshold"), cv(OCPP, "MessageTimeout", instance="Default"))
    assert [x["attribute_value"] for x in after] == [x["attribute_value"] for x in before]  # nothing changed


def test_read_only_by_choice_is_rejected(csms, sim):
    res = set_(csms, cv("TxCtrlr", "TxStartPoint", attribute_value="Authorized"),
               cv("EVSE", "AvailabilityState", evse=1, attribute_value="Faulted"))
    assert [(r["attribute_status"], r["attribute_status_info"]["reason_code"]) for r in res] == [
        ("Rejected", "ReadOnly")] * 2
    [r] = get(csms, cv("TxCtrlr", "TxStartPoint"))
    assert r["attribute_value"] == "PowerPathClosed"


@pytest.mark.octt("TC_B_11_CS")
def test_TC_B_11_CS_set_invalidly_formatted_values(csms, sim):
    """Each of 1, 1.1, true, the current time and "abc" is written to an integer
    (OCPPCommCtrlr.OfflineThreshold) and a decimal (SmartChargingCtrlr.LimitChangeSignificance):
    a value the type takes is Accepted, any other Rejected with InvalidValue. The station has no
    ClockCtrlr.NextTimeOffsetTransitionDateTime, so the OCTT's optional dateTime steps do not run."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    [sc] = get(csms, cv("SmartChargingCtrlr", "Available"))
    targets = [(OCPP, "OfflineThreshold", ("1",))]
    if sc["attribute_status"] == "Accepted":  # builds with smart charging
        targets.append(("SmartChargingCtrlr", "LimitChangeSignificance", ("1", "1.1")))
    else:
        assert sc["attribute_status"] == "UnknownComponent", sc
    for value in ("1", "1.1", "true", now, "abc"):
        for comp, var, takes in targets:
            [r] = set_(csms, cv(comp, var, attribute_value=value))
            if value in takes:
                assert r["attribute_status"] == "Accepted" and _no_error(r), (value, r)
                [g] = get(csms, cv(comp, var))
                assert g["attribute_value"] == value, (value, g)
            else:
                assert r["attribute_status"] == "Rejected", (value, r)
                assert r["attribute_status_info"]["reason_code"] == "InvalidValue", (value, r)
    if len(targets) == 1:  # no smart charging: the component is unknown to the station
        [r] = set_(csms, cv("SmartChargingCtrlr", "LimitChangeSignificance", attribute_value="1"))
        assert r["attribute_status"] == "UnknownComponent", r


def _report(csms, base, request_id, station="CS001"):
    r = csms.call(station, call.GetBaseReport(request_id=request_id, report_base=base))
    assert r.status == "Accepted"
    last = wait_until(lambda: [f for f in csms.inbound("NotifyReport")
                               if f.payload["requestId"] == request_id and not f.payload.get("tbc")], 10,
                      "last NotifyReport page")
    pages = [f for f in csms.inbound("NotifyReport") if f.payload["requestId"] == request_id]
    assert pages[-1] is last[0]
    return pages


def _limits(csms):
    res = get(csms, cv("DeviceDataCtrlr", "ItemsPerMessage", instance="GetReport"),
              cv("DeviceDataCtrlr", "BytesPerMessage", instance="GetReport"))
    return int(res[0]["attribute_value"]), int(res[1]["attribute_value"])


def _check_pages(csms, pages):
    items, size = _limits(csms)
    assert [p.payload["seqNo"] for p in pages] == list(range(len(pages)))
    assert all(p.payload.get("tbc") is True for p in pages[:-1]) and "tbc" not in pages[-1].payload
    for p in pages:
        assert 0 < len(p.payload["reportData"]) <= items
        assert len(p.text.encode()) <= size
    return [d for p in pages for d in p.payload["reportData"]]


# every variable OCPP 2.0.1 requires of a Core station, plus the ones the digest adds (§2.3)
REQUIRED = [
    "ChargingStation.AvailabilityState", "ChargingStation.Available", "ChargingStation.SupplyPhases",
    "EVSE.AvailabilityState", "EVSE.Available", "EVSE.SupplyPhases", "EVSE.Power",
    "Connector.AvailabilityState", "Connector.Available", "Connector.SupplyPhases", "Connector.ConnectorType",
    "AlignedDataCtrlr.Interval", "AlignedDataCtrlr.Measurands", "AlignedDataCtrlr.TxEndedInterval",
    "AlignedDataCtrlr.TxEndedMeasurands", "AuthCtrlr.AuthorizeRemoteStart", "AuthCtrlr.LocalAuthorizeOffline",
    "AuthCtrlr.LocalPreAuthorize", "ClockCtrlr.DateTime", "ClockCtrlr.TimeSource",
    "DeviceDataCtrlr.ItemsPerMessage[GetReport]", "DeviceDataCtrlr.ItemsPerMessage[GetVariables]",
    "DeviceDataCtrlr.ItemsPerMessage[SetVariables]", "DeviceDataCtrlr.BytesPerMessage[GetReport]",
    "DeviceDataCtrlr.BytesPerMessage[GetVariables]", "DeviceDataCtrlr.BytesPerMessage[SetVariables]",
    "OCPPCommCtrlr.FileTransferProtocols", "OCPPCommCtrlr.MessageTimeout[Default]",
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]", "OCPPCommCtrlr.MessageAttempts[TransactionEvent]",
    "OCPPCommCtrlr.NetworkConfigurationPriority", "OCPPCommCtrlr.NetworkProfileConnectionAttempts",
    "OCPPCommCtrlr.OfflineThreshold", "OCPPCommCtrlr.ResetRetries", "OCPPCommCtrlr.UnlockOnEVSideDisconnect",
    "OCPPCommCtrlr.RetryBackOffRepeatTimes", "OCPPCommCtrlr.RetryBackOffRandomRange",
    "OCPPCommCtrlr.RetryBackOffWaitMinimum", "OCPPCommCtrlr.WebSocketPingInterval",
    "OCPPCommCtrlr.ActiveNetworkProfile", "OCPPCommCtrlr.HeartbeatInterval",
    "SampledDataCtrlr.TxEndedInterval", "SampledDataCtrlr.TxEndedMeasurands", "SampledDataCtrlr.TxStartedMeasurands",
    "SampledDataCtrlr.TxUpdatedInterval", "SampledDataCtrlr.TxUpdatedMeasurands",
    "SecurityCtrlr.CertificateEntries", "SecurityCtrlr.OrganizationName", "SecurityCtrlr.SecurityProfile",
    "SecurityCtrlr.BasicAuthPassword", "SecurityCtrlr.Identity",
    "TxCtrlr.EVConnectionTimeOut", "TxCtrlr.StopTxOnEVSideDisconnect", "TxCtrlr.StopTxOnInvalidId",
    "TxCtrlr.TxStartPoint", "TxCtrlr.TxStopPoint",
]


def _key(d):
    v = d["variable"]
    return "%s.%s%s" % (d["component"]["name"], v["name"], "[%s]" % v["instance"] if "instance" in v else "")


def _check_tool_validations(pages, request_id):
    """The OCTT's step 3 checks of every NotifyReport page, and its post-scenario check that
    every reported variable carries its characteristics; the items of all pages."""
    for p in pages:
        assert p.payload["requestId"] == request_id and p.payload["generatedAt"].endswith("Z"), p.payload
    data = [d for p in pages for d in p.payload["reportData"]]
    for d in data:
        ch = d.get("variableCharacteristics")
        assert ch and ch["dataType"], d
        if ch["dataType"] in ("OptionList", "SequenceList", "MemberList"):
            assert ch.get("valuesList"), d
    return data


# the required variables ConfigurationInventory must report: REQUIRED's writable ones
# (AlignedDataCtrlr's only in builds with clock-aligned meter values)
REQUIRED_WRITABLE = [
    "AuthCtrlr.LocalAuthorizeOffline",
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]", "OCPPCommCtrlr.MessageAttempts[TransactionEvent]",
    "OCPPCommCtrlr.NetworkConfigurationPriority", "OCPPCommCtrlr.NetworkProfileConnectionAttempts",
    "OCPPCommCtrlr.OfflineThreshold", "OCPPCommCtrlr.ResetRetries",
    "SampledDataCtrlr.TxEndedInterval", "SampledDataCtrlr.TxEndedMeasurands", "SampledDataCtrlr.TxStartedMeasurands",
    "SampledDataCtrlr.TxUpdatedInterval", "SampledDataCtrlr.TxUpdatedMeasurands",
    "TxCtrlr.EVConnectionTimeOut", "TxCtrlr.StopTxOnInvalidId",
]
ALIGNED_WRITABLE = ["AlignedDataCtrlr.Interval", "AlignedDataCtrlr.Measurands", "AlignedDataCtrlr.TxEndedInterval",
                    "AlignedDataCtrlr.TxEndedMeasurands"]


@pytest.mark.octt("TC_B_12_CS")
def test_TC_B_12_CS_configuration_inventory(csms, sim):
    pages = _report(csms, "ConfigurationInventory", 5)
    data = _check_tool_validations(pages, 5)
    _check_pages(csms, pages)
    assert {d["variableAttribute"][0]["mutability"] for d in data} <= {"ReadWrite", "WriteOnly"}, data
    keys = [_key(d) for d in data]
    [aligned] = get(csms, cv("AlignedDataCtrlr", "Available"))
    want = REQUIRED_WRITABLE + (ALIGNED_WRITABLE if aligned["attribute_value"] == "true" else [])
    assert not set(want) - set(keys), set(want) - set(keys)


@pytest.mark.octt("TC_B_13_CS")
def test_TC_B_13_CS_full_inventory(csms, sims):
    s = sims(csms.url, evses=2, password="secret-password-0123")
    s.wait_event(ev="boot", status="Accepted")
    pages = _report(csms, "FullInventory", 42)
    data = _check_tool_validations(pages, 42)
    _check_pages(csms, pages)
    keys = [_key(d) for d in data]
    assert not set(REQUIRED) - set(keys), set(REQUIRED) - set(keys)
    # per-EVSE and per-connector variables appear once per EVSE, with the evse addressed
    evses = [d["component"].get("evse") for d in data if _key(d) == "Connector.ConnectorType"]
    assert evses == [{"id": 1, "connectorId": 1}, {"id": 2, "connectorId": 1}]
    assert len(keys) == len(set(json.dumps([d["component"], d["variable"]]) for d in data))
    # B07.FR.03: the write-only password is reported without its value
    [pw] = [d for d in data if _key(d) == "SecurityCtrlr.BasicAuthPassword"]
    assert pw["variableAttribute"] == [{"type": "Actual", "mutability": "WriteOnly", "persistent": True}], pw


@pytest.mark.octt("TC_B_53_CS")
def test_TC_B_53_CS_full_inventory_has_every_required_variable(csms, sim):
    pages = _report(csms, "FullInventory", 53)
    data = _check_tool_validations(pages, 53)
    keys = [_key(d) for d in data]
    assert not set(REQUIRED) - set(keys), set(REQUIRED) - set(keys)
    for d in data:
        [a] = d["variableAttribute"]
        ch = d["variableCharacteristics"]
        if a["mutability"] == "WriteOnly":
            continue
        # every value set; EVSE.Power may carry only its maxLimit, and an empty MemberList is the
        # value "no member" (lite: AlignedDataCtrlr.Measurands, no clock-aligned data)
        assert a.get("value", "") != "" or _key(d) == "EVSE.Power" or \
            (ch["dataType"] == "MemberList" and "value" in a), d
        if ch["dataType"] in ("OptionList", "MemberList", "SequenceList"):
            allowed = ch["valuesList"].split(",")
            assert all(m in allowed for m in a["value"].split(",") if m), d
        if ch["dataType"] == "integer":
            n = int(a["value"])
            assert ch.get("minLimit", n) <= n <= ch.get("maxLimit", n), d


def test_password_never_in_reports_or_logs(csms, sims):
    s = sims(csms.url, password="secret-password-0123")
    s.wait_event(ev="boot", status="Accepted")
    _report(csms, "FullInventory", 7)
    _report(csms, "ConfigurationInventory", 8)
    assert "secret-password" not in json.dumps([p.msg for p in csms.inbound("NotifyReport")])
    assert "secret-password" not in "\n".join(s.log) + "\n".join(s.seclog())


@pytest.mark.octt("TC_B_15_CS")
def test_TC_B_15_CS_summary_inventory_not_supported(csms, sim):
    r = csms.call("CS001", call.GetBaseReport(request_id=3, report_base="SummaryInventory"))
    assert r.status == "NotSupported", r
    assert r.status_info is None or r.status_info["reason_code"] == "UnsupportedParam", r
    time.sleep(1.0)  # the OCTT waits to make sure no NotifyReport comes
    assert not csms.inbound("NotifyReport")


def test_base_report_allowed_while_pending(csms, sims):
    csms.boot_status = "Pending"
    csms.interval = 60
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Pending")
    pages = _report(csms, "ConfigurationInventory", 9)
    assert pages and not csms.inbound("StatusNotification")  # B02.FR.02: only what was asked


def test_second_report_while_one_runs_is_rejected(csms, sim):
    csms.hold.add("NotifyReport")  # the first report stalls on its first page
    r = csms.call("CS001", call.GetBaseReport(request_id=1, report_base="FullInventory"))
    assert r.status == "Accepted"
    r2 = csms.call("CS001", call.GetBaseReport(request_id=2, report_base="FullInventory"))
    assert r2.status == "Rejected"


def test_damaged_flash_copy_recovers_last_good_value_with_security_event(csms, sims, tmp_path):
    state = tmp_path / "flash"
    s = sims(csms.url, state=state)
    s.wait_event(ev="boot", status="Accepted")
    set_(csms, cv(OCPP, "OfflineThreshold", attribute_value="101"))
    set_(csms, cv(OCPP, "OfflineThreshold", attribute_value="202"))
    s.quit()
    newest = max(state.glob("vars.*"), key=lambda p: int(p.read_bytes().split()[0]))
    raw = bytearray(newest.read_bytes())
    raw[-3] ^= 0x55  # a bit flip in the newest copy
    newest.write_bytes(bytes(raw))
    s2 = sims(None, state=state, ident=None)
    s2.wait_event(ev="security", type="StoreCorruptionRecovered")
    s2.wait_event(ev="boot", status="Accepted")
    [r] = get(csms, cv(OCPP, "OfflineThreshold"))
    assert r["attribute_value"] == "101"  # the last good state
    assert any("StoreCorruptionRecovered vars" in line for line in s2.seclog())
