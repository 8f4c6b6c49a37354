# Unit tests of ocpp_lite.provisioning.devmodel / dmtable on the unix port.
from fakes import station
from ocpp_lite.provisioning import devmodel
from ocpp_lite.provisioning.dmtable import ROWS


def _find(st, comp, var):
    try:
        r, evse = st.devmodel.find(comp, var)
        return r[0], evse
    except KeyError as e:
        return e.args[0]


def test_table_is_consistent():
    st = station()
    for sc, al, n in ((True, True, 64), (False, True, 58), (True, False, 64), (False, False, 58)):
        st.devmodel.sc, st.devmodel.al = sc, al
        keys = [r[0] for r in st.devmodel.rows()]
        assert len(keys) == len(set(keys)) == n, (sc, al)  # every build has each variable once
    for r in ROWS:
        assert len(r) == 9 and r[1] in (0, 1, 2, 3, 4, 5) and r[2] in "RCWO", r
        assert r[3] in ("string", "decimal", "integer", "dateTime", "boolean", "OptionList",
                        "SequenceList", "MemberList"), r
        if r[3] in ("OptionList", "SequenceList", "MemberList"):
            assert r[7], r  # list types carry their valuesList
        if r[2] == "W" or r[8] and r[2] == "C":
            assert devmodel.parse(r, devmodel.text(r[8])) == r[8], r  # defaults are valid values
    writable = [r[0] for r in ROWS if r[2] in "WO"]
    assert len(writable) == 25  # 23 RW + BasicAuthPassword + LimitChangeSignificance (smart charging)
    assert [r[0] for r in ROWS if r[2] in "WO" and r[1] == 4] == [
        "AlignedDataCtrlr.Interval", "AlignedDataCtrlr.Measurands", "AlignedDataCtrlr.TxEndedInterval",
        "AlignedDataCtrlr.TxEndedMeasurands"]


def test_a_build_without_clock_aligned_values_reports_none():
    st = station()
    assert st.devmodel.al  # the source tree has ocpp_lite/metering/aligned
    st.devmodel.al = False  # as the lite build finds it
    comp = {"name": "AlignedDataCtrlr"}
    r, _ = st.devmodel.find(comp, {"name": "Available"})
    assert st.devmodel.value(r, 0, 0) is False
    for name, empty in (("Interval", 0), ("Measurands", ""), ("TxEndedInterval", 0), ("TxEndedMeasurands", "")):
        r, _ = st.devmodel.find(comp, {"name": name})
        assert devmodel.mutability(r) == "ReadOnly" and st.devmodel.value(r, 0, 0) == empty, name


def test_find_scopes_case_and_instances():
    st = station(evses=2)
    assert _find(st, {"name": "ocppcommctrlr"}, {"name": "OFFLINETHRESHOLD"}) == ("OCPPCommCtrlr.OfflineThreshold", 0)
    assert _find(st, {"name": "EVSE", "evse": {"id": 2}}, {"name": "Power"}) == ("EVSE.Power", 2)
    assert _find(st, {"name": "Connector", "evse": {"id": 1, "connectorId": 1}}, {"name": "ConnectorType"}) == (
        "Connector.ConnectorType", 1)
    assert _find(st, {"name": "EVSE", "evse": {"id": 3}}, {"name": "Power"}) == "UnknownComponent"
    assert _find(st, {"name": "Connector", "evse": {"id": 1, "connectorId": 2}}, {"name": "ConnectorType"}) == "UnknownComponent"
    assert _find(st, {"name": "EVSE"}, {"name": "Power"}) == "UnknownComponent"
    assert _find(st, {"name": "OCPPCommCtrlr", "evse": {"id": 1}}, {"name": "OfflineThreshold"}) == "UnknownComponent"
    assert _find(st, {"name": "OCPPCommCtrlr", "instance": "x"}, {"name": "OfflineThreshold"}) == "UnknownComponent"
    assert _find(st, {"name": "OCPPCommCtrlr"}, {"name": "Nope"}) == "UnknownVariable"
    assert _find(st, {"name": "DeviceDataCtrlr"}, {"name": "ItemsPerMessage", "instance": "GetVariables"})[0] == \
        "DeviceDataCtrlr.ItemsPerMessage[GetVariables]"
    assert _find(st, {"name": "DeviceDataCtrlr"}, {"name": "ItemsPerMessage"}) == "UnknownVariable"
    assert _find(st, {"name": "SmartChargingCtrlr"}, {"name": "RateUnit"}) == (
        ("SmartChargingCtrlr.RateUnit", 0) if st.devmodel.sc else "UnknownComponent")


def _p(key, text):
    try:
        return devmodel.parse(devmodel.row(key), text)
    except ValueError as e:
        return "!" + e.args[0]


def test_parse_by_type_limits_and_lists():
    assert _p("OCPPCommCtrlr.OfflineThreshold", "60") == 60
    assert _p("OCPPCommCtrlr.OfflineThreshold", "-1") == "!ValueOutOfRange"
    assert _p("OCPPCommCtrlr.OfflineThreshold", "86401") == "!ValueOutOfRange"
    for bad in ("6O", "", "1.5", "+1", " 1", "0x10", "1" * 20):
        assert _p("OCPPCommCtrlr.OfflineThreshold", bad) == "!InvalidValue", bad
    assert _p("TxCtrlr.StopTxOnInvalidId", "FALSE") is False
    assert _p("TxCtrlr.StopTxOnInvalidId", "no") == "!InvalidValue"
    assert _p("SmartChargingCtrlr.LimitChangeSignificance", "12.5") == 12.5
    assert _p("SmartChargingCtrlr.LimitChangeSignificance", "101") == "!ValueOutOfRange"
    assert _p("SmartChargingCtrlr.LimitChangeSignificance", "1e3") == "!InvalidValue"
    m = "SampledDataCtrlr.TxUpdatedMeasurands"
    assert _p(m, "Voltage, Energy.Active.Import.Register") == "Voltage,Energy.Active.Import.Register"
    assert _p(m, "") == ""
    assert _p(m, "Voltage,Voltage") == "!InvalidValue"
    assert _p(m, "SoC") == "!InvalidValue"
    assert _p("OCPPCommCtrlr.NetworkConfigurationPriority", "2,1") == "2,1"
    assert _p("OCPPCommCtrlr.NetworkConfigurationPriority", "") == "!InvalidValue"
    assert _p("OCPPCommCtrlr.NetworkConfigurationPriority", "3") == "!InvalidValue"
    assert _p("SecurityCtrlr.BasicAuthPassword", "x" * 15) == "!ValueOutOfRange"
    assert _p("SecurityCtrlr.BasicAuthPassword", "x" * 41) == "!ValueOutOfRange"
    assert _p("SecurityCtrlr.BasicAuthPassword", "x" * 16) == "x" * 16


def test_values_stored_default_live():
    st = station(evses=2, vars={"OCPPCommCtrlr.OfflineThreshold": 42, "TxCtrlr.TxStartPoint": "Authorized",
                                "OCPPCommCtrlr.ResetRetries": 99})
    assert st.devmodel.get("OCPPCommCtrlr.OfflineThreshold") == 42
    assert st.devmodel.get("OCPPCommCtrlr.ResetRetries") == 2  # stored value out of range: default
    assert "OCPPCommCtrlr.ResetRetries" not in st.devmodel.vars and "TxCtrlr.TxStartPoint" not in st.devmodel.vars
    r, e = st.devmodel.find({"name": "EVSE", "evse": {"id": 2}}, {"name": "AvailabilityState"})
    st.availability.conn[1] = "Occupied"
    assert st.devmodel.value(r, 2, 0) == "Occupied"
    r, e = st.devmodel.find({"name": "ChargingStation"}, {"name": "AvailabilityState"})
    assert st.devmodel.value(r, 0, 0) == "Available"
    st.availability.conn[0] = "Occupied"
    assert st.devmodel.value(r, 0, 0) == "Occupied"
    r, e = st.devmodel.find({"name": "Connector", "evse": {"id": 1, "connectorId": 1}}, {"name": "ConnectorType"})
    assert st.devmodel.value(r, 1, 0) == "cType2"
    assert devmodel.text(True) == "true" and devmodel.text(12.0) == "12" and devmodel.text(12.5) == "12.5"


def test_store_writes_only_changes_and_reverts_on_flash_error():
    st = station()
    st.flash.docs.clear()
    st.devmodel.store({"OCPPCommCtrlr.OfflineThreshold": 300})  # the default: nothing to write
    assert st.flash.docs == {}
    st.devmodel.store({"OCPPCommCtrlr.OfflineThreshold": 61})
    assert st.flash.docs["vars"] == {"OCPPCommCtrlr.OfflineThreshold": 61}
    st.flash.fail = True
    try:
        st.devmodel.store({"OCPPCommCtrlr.OfflineThreshold": 62})
    except OSError:
        pass
    else:
        raise AssertionError("no OSError")
    assert st.devmodel.get("OCPPCommCtrlr.OfflineThreshold") == 61
    st.flash.fail = False
    st.devmodel.store({"OCPPCommCtrlr.OfflineThreshold": 300})  # back to default: removed
    assert st.flash.docs["vars"] == {}
