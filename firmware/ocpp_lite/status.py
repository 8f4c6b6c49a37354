# ocpp_lite/status.py - G01 connector status: the status of every connector (one per EVSE)
# and the StatusNotifications that report it: all after boot (B01.FR.05), then every change;
# a notification that was lost is sent again after the reconnect. State, not history: a
# queued notification of a connector is replaced by a newer one (session.KEEP).
from .session import KEEP

AVAILABLE = "Available"
OCCUPIED = "Occupied"
UNAVAILABLE = "Unavailable"
FAULTED = "Faulted"


def init(st, evses):
    st.conn = [AVAILABLE] * evses  # status of EVSE i+1, connector 1
    st.told = [None] * evses  # status the CSMS has or will have (None: unknown)


def set(st, evse, value, now):
    if st.conn[evse - 1] != value:
        st.conn[evse - 1] = value
        st.show({"ev": "status", "evse": evse, "connector": 1, "status": value})
        report(st, evse, now)


def report(st, evse, now, force=False, flags=0):
    """Queue a StatusNotification for evse if the CSMS has not seen its status (or force).
    Before the boot is Accepted only a triggered one (flags PRE_BOOT) goes."""
    i = evse - 1
    value = st.conn[i]
    if not (st.rpc.accepted or flags) or (value == st.told[i] and not force):
        return

    def done(st, res, now):
        if res is None and st.told[i] == value:
            st.told[i] = None  # lost: report again after reconnecting

    st.told[i] = value
    if not st.rpc.call(
        "StatusNotification",
        {"timestamp": st.stamp(now), "connectorStatus": value, "evseId": evse, "connectorId": 1},
        done,
        flags | KEEP,
        evse,
    ):
        st.told[i] = None


def report_all(st, now, force=False):
    for evse in range(1, len(st.conn) + 1):
        report(st, evse, now, force)
