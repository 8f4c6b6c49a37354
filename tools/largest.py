"""tools/largest.py - the largest legal requests a CSMS may send the station, from the OCPP
2.0.1 schemas: for the tests (host_tests/test_rpc.py: each is parsed and answered; the fuzz
campaign) and the footprint (tools/footprint/session.py: the costliest message the station
parses is in the least heap; tools/footprint/parsecost.py measures each)."""

import json
import pathlib
import re

from tools import csms as csms_mod

ROOT = pathlib.Path(__file__).resolve().parent.parent
# MaxMessageBytes' default (runtime/config.py)
MAX_MSG = int(re.search(r'"MaxMessageBytes": (\d+)', (ROOT / "firmware" / "runtime" / "config.py").read_text()).group(1))

BYTES = {"GetVariables": 1500, "SetVariables": 2500}  # DeviceDataCtrlr.BytesPerMessage
# CSMS actions the core-sc build handles (firmware/ocpp_lite/actions.py, tools/profiles.py)
HANDLED = ("ChangeAvailability", "ClearCache", "ClearChargingProfile", "CustomerInformation", "DataTransfer",
           "DeleteCertificate", "GetBaseReport", "GetChargingProfiles", "GetCompositeSchedule",
           "GetInstalledCertificateIds", "GetLog", "GetTransactionStatus", "GetVariables", "InstallCertificate",
           "RequestStartTransaction", "RequestStopTransaction", "Reset", "SetChargingProfile", "SetNetworkProfile",
           "SetVariables", "TriggerMessage", "UnlockConnector", "UpdateFirmware")
_schemas = {}


def schema(action):
    s = _schemas.get(action)
    if s is None:
        s = _schemas[action] = json.loads((csms_mod.SCHEMAS / (action + "Request.json")).read_text())
    return s


def node(root, s):
    while "$ref" in s:
        s = root["definitions"][s["$ref"].rsplit("/", 1)[1]]
    return s


# Arrays at what the station advertises (ItemsPerMessage, SmartChargingCtrlr.PeriodsPerSchedule),
# one charging schedule (more are ISO 15118 SASchedules), others at their schema's maxItems, at
# most 4 (idToken.additionalInfo has no bound). Left out: customData (no vendor extensions here)
# and salesTariff (ISO 15118 only; taken as it comes and ignored).
ARRAYS = {"getVariableData": 4, "setVariableData": 4, "chargingSchedulePeriod": 4, "chargingSchedule": 1}
LEFT_OUT = ("customData", "salesTariff")


def largest_instance(root, s, name=""):
    """The value of schema node s with every optional field but LEFT_OUT, strings at their
    maxLength."""
    s = node(root, s)
    if "enum" in s:
        return max(s["enum"], key=len)
    t = s.get("type")
    if t == "object":
        return {k: largest_instance(root, sub, k) for k, sub in s.get("properties", {}).items() if k not in LEFT_OUT}
    if t == "array":
        n = ARRAYS.get(name, min(s.get("maxItems", 4), 4))
        return [largest_instance(root, s["items"]) for _ in range(n)]
    if t == "string":
        if s.get("format") == "date-time":
            return "2026-12-06T12:00:00.000Z"
        return "x" * s.get("maxLength", 64)
    if t == "integer":
        return 2**31 - 1
    if t == "number":
        return 1234567.5
    if t == "boolean":
        return True
    return None  # DataTransfer data: anything (the station answers UnknownVendorId)


def largest_request(action, mid="largest"):
    """The JSON text of the largest legal CALL of action: largest_instance, its longest strings
    shortened until it is within MaxMessageBytes and the action's BytesPerMessage."""
    p = largest_instance(schema(action), schema(action))
    most = min(MAX_MSG, BYTES.get(action, MAX_MSG))

    def strings(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, str):
                    yield v, k
                else:
                    yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)

    while True:
        text = json.dumps([2, mid, action, p], separators=(",", ":"))
        over = len(text) - most
        if over <= 0:
            return text
        parent, k = max(strings(p), key=lambda pk: len(pk[0][pk[1]]))
        if not parent[k]:
            raise ValueError("%s is over %d bytes with every string empty" % (action, most))
        parent[k] = parent[k][:max(len(parent[k]) - over, len(parent[k]) // 2)]


def padded(text, size=MAX_MSG):
    """text, a CALL, with a legal customData in its payload that makes it size bytes long (the
    station blanks it unbuilt: engine/jsonsyntax.py), or text itself when it has no room."""
    head = text[:-2] + ("," if not text.endswith("{}]") else "") + '"customData":{"vendorId":"v","pad":"'
    room = size - len(head) - len('"}}]')
    return head + "p" * room + '"}}]' if room >= 0 else text
