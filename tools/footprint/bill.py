"""tools/footprint/bill.py - what a SIM card bills for what the relay (wire.py) saw: the bytes
above TCP as they passed (WebSocket frames and the upgrade over ws://, TLS records over wss://,
with their arrival times) and the IPv4 and TCP headers of the packets that carry them.

The packets are not captured (on 127.0.0.1 they are 64 kB long and acknowledged at once);
they follow from the bytes and their timing by a model of a cellular link:
- a connection costs its handshake (SYN and SYN-ACK with the MSS option, 44 bytes each, and an
  ACK) and its end (FIN and ACK each way);
- a burst (what one side writes before the other side writes, units less than GAP apart) goes
  in full segments of MSS bytes (writes coalesced, as Nagle's algorithm does), each with 40
  bytes of IPv4 and TCP headers (no TCP options: lwIP sends none, and the CSMS then sends no
  timestamps either);
- the receiver acknowledges every second segment at once, and the last odd one after its
  delayed-ACK time, in a packet of its own unless it sends data within DELACK (then the ACK
  rides on it).
Radio-level overhead (PDCP, RLC) and DNS are not counted: operators bill IP bytes.

An idle day (idle_day) is measured, not computed: the station's link left idle for IDLE_S
seconds with HeartbeatInterval and WebSocketPingInterval SCALE times shorter, its bill scaled
to 24 hours."""

import asyncio
import time

MSS = 1460  # MTU 1500
HDR = 40  # IPv4 (20) and TCP (20) headers
SYN = 44  # a SYN or SYN-ACK: the headers and the MSS option
GAP = 0.05  # s: units of one side closer than this are one burst
DELACK = 0.2  # s: the receiver's delayed ACK (RFC 1122 allows up to 0.5)
IDLE_S = 30  # seconds of idle link measured
SCALE = 60  # ... with every interval this many times shorter: 30 s stand for 30 minutes
HEARTBEAT_S = 300  # HeartbeatInterval the CSMS gives at boot (tools/csms.py)
OUR_PING_S = 60  # WebSocketPingInterval's default: a ping after that much silence


def connection(up, down, ends=True):
    """The bill of one connection from its units: lists of (arrival time, bytes) each way
    (station to CSMS, CSMS to station); without its handshake and end unless ends. A dict:
    bytes (above TCP), packets, billed (all bytes of all packets)."""
    bursts = []  # [side, bytes, first arrival, last arrival]
    for t, side, n in sorted([(t, 0, n) for t, n in up] + [(t, 1, n) for t, n in down]):
        b = bursts[-1] if bursts else None
        if b and b[0] == side and t - b[3] <= GAP:
            b[1] += n
            b[3] = t
        else:
            bursts.append([side, n, t, t])
    data = sum(b[1] for b in bursts)
    packets = 0
    for i, (side, n, _, last) in enumerate(bursts):
        k = -(-n // MSS)
        acks = k // 2
        if k % 2:
            nxt = bursts[i + 1] if i + 1 < len(bursts) else None
            acks += not (nxt and nxt[0] != side and nxt[2] - last <= DELACK)
        packets += k + acks
    billed = data + HDR * packets
    if ends:  # SYN, SYN-ACK, ACK; FIN and its ACK each way
        packets += 3 + 4
        billed += 2 * SYN + 5 * HDR
    return {"bytes": data, "packets": packets, "billed": billed}


def relay(r, since=None, until=None):
    """The bill of every connection a wire.Relay saw, summed. With since and until (times):
    only what arrived between them, without handshakes and ends (an idle link's share)."""
    out = {"bytes": 0, "packets": 0, "billed": 0, "connections": len(r.conns)}
    for up, down in r.conns:
        if since is None:
            one = connection(up.units, down.units)
        else:
            one = connection([x for x in up.units if since < x[0] <= until],
                             [x for x in down.units if since < x[0] <= until], ends=False)
        for k in ("bytes", "packets", "billed"):
            out[k] += one[k]
    return out


async def our_idle(image, pki, bits, exe=None):
    """The station booted (ROMFS image, or the code frozen into exe; permessage-deflate with
    windows of 2**bits, 0: off), then its link idle for IDLE_S seconds with HeartbeatInterval
    and WebSocketPingInterval SCALE times shorter: (relay, since, until)."""
    from tools.footprint import session as fs

    async def idle(s):
        r = await s.call("SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
            "attributeValue": str(HEARTBEAT_S // SCALE)}]})
        if r.payload["setVariableResult"][0]["attributeStatus"] != "Accepted":
            raise fs.Failed("HeartbeatInterval not set: %s" % r.text)
        await s.settle()
        s.ctx["since"] = time.monotonic()
        await asyncio.sleep(IDLE_S)
        s.ctx["until"] = time.monotonic()
        if len(s.calls("Heartbeat")) < IDLE_S * SCALE // HEARTBEAT_S:
            raise fs.Failed("too few heartbeats while idle: %d" % len(s.calls("Heartbeat")))
        return fs.OK

    s = fs.Session(image, tls=pki, exe=exe, extra=[
        "--set", "DeflateWindowBits=%d" % bits, "--set", "OCPPCommCtrlr.WebSocketPingInterval=%d" % (OUR_PING_S // SCALE)])
    await s.run([("boot", fs.boot), ("idle", idle)])
    return s.relay, s.ctx["since"], s.ctx["until"]


def idle_day(r, since, until):
    """An idle day's bill from a measured idle link (relay r's bill between since and until,
    its intervals SCALE times shorter)."""
    b = relay(r, since, until)
    k = 86400 / ((until - since) * SCALE)
    return {key: round(b[key] * k) for key in ("bytes", "packets", "billed")}


async def idle_days(image, pki, exe=None):
    """Idle days over ws:// and wss://, without and with permessage-deflate (DeflateWindowBits
    11, as the report's other figures with it), measured side by side: {"ws": bill, "wss": ...,
    "deflate_ws": ..., "deflate_wss": ...}."""
    keys = [(b, t) for b in (0, 11) for t in (None, pki)]
    got = await asyncio.gather(*[our_idle(image, t, b, exe) for b, t in keys])
    return {("deflate_" if b else "") + ("wss" if t else "ws"): idle_day(*g) for (b, t), g in zip(keys, got)}
