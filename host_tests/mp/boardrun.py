# host_tests/mp/boardrun.py - runs a board package (boards/esp32 or boards/rp2040: its pin map,
# board.py and the shared hw code, started as its main.py does: hw.appdir.boot, which chooses
# the code at every start) on the unix port with the fake machine, network and esp32 modules
# and peripheral models on its pins in place of the hardware:
#   micropython boardrun.py BOARD STATE_DIR CSMS_URL STATION_ID
# An application bundle is unpacked into STATE_DIR/../app. A chip reset (a reboot, a crash)
# prints {"ev": "reset"} and starts again in-process (on the ESP32 through the fake bootloader).
# Board events are JSON lines on stdout, logs go to stderr. Control lines on stdin:
# {"cp": "A".."F"} the EV's pilot state, {"card": "04A1B2C3"} / {"card": null} a card on the
# reader or taken away, {"meter": [volts, amps, watts, kwh]}, {"weld": true|false} the
# contactor's contacts, {"report": true} prints {"ev": "models", ...}, {"quit": true} stops the
# station. At start it prints {"ev": "core", "inputs": [...]}: the station inputs the core has.
import sys

sys.path.insert(0, (sys.argv[0].rpartition("/")[0] or ".") + "/../../firmware")
import hwfakes  # noqa: E402  (puts the fake machine first on the path)
import asyncio
import json
import os
from mfrc522_model import Card


def main():
    name, state, csms, ident = sys.argv[1:5]
    m = hwfakes.fresh()
    hwfakes.board_package(name)
    import pins
    from hw import appdir, provision

    models = hwfakes.Models(pins)
    ev, contactor, meter, rfid = models.ev, models.contactor, models.meter, models.rfid
    meter.set(230.0, 0.0, 0.0, 1.0)
    try:
        os.stat(state)  # started again on the same flash: provisioned at the first start
    except OSError:
        provision.apply(csms, ident, wifi=("lab", "secret"), root=state)  # what make deploy does
    cards = []

    def log(text):
        print(text, file=sys.stderr)

    def control(app, c):
        if "cp" in c:
            ev.state = c["cp"]
        elif "card" in c:
            for old in cards:
                rfid.remove(old)
            del cards[:]
            if c["card"]:
                cards.append(Card(bytes.fromhex(c["card"])))
                rfid.present(cards[0])
        elif "meter" in c:
            meter.set(*c["meter"])
        elif "weld" in c:
            contactor.weld() if c["weld"] else contactor.free()
        elif "report" in c:
            print(json.dumps({"ev": "models", "cp": ev.state, "pwm": m.pwms[pins.EVSES[0]["pwm"]].duty_u16(),
                              "contactor": contactor.closed, "modbus": meter.answered,
                              "rfid_frames": len(rfid.frames), "wdt_fed": sum(w.fed for w in m.wdts)}))
        elif "quit" in c:
            app.stop("quit")

    async def controls(app):
        rd = asyncio.StreamReader(sys.stdin)
        while True:
            line = await rd.readline()
            if not line:
                return
            try:
                control(app, json.loads(line))
            except Exception as x:
                log("bad control line %r: %r" % (line, x))

    def wrap(make):
        def make_board(store):
            board = make(store, log)
            run = board.run

            async def run_with_controls(app):
                asyncio.create_task(controls(app))
                await run(app)

            board.run = run_with_controls
            return board

        return make_board

    esp = None
    if name == "esp32":
        import esp32 as esp

    def reset():
        print(json.dumps({"ev": "reset"}))
        if esp:
            esp.reset()

    why = appdir.boot(reset, esp, state, state.rstrip("/").rpartition("/")[0] + "/app", wrap)
    print(json.dumps({"ev": "exit", "why": why}))


main()
