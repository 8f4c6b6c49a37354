# hw/main.py - start-up on a board: open the store, build the board, run the station until
# it asks for a reboot, which resets the chip (reset, e.g. machine.reset).
import asyncio
import gc
import os

STATE = "/state"  # the station's flash directory


def run(make_board, reset=None, root=STATE):
    """make_board(store) -> board object; returns "quit" (or after reset() returns)."""
    from runtime.app import App
    from runtime.config import provisioned
    from runtime.store import Store

    try:
        os.mkdir(root)
    except OSError:
        pass  # exists
    store = Store(root)
    board = make_board(store)
    if not provisioned(store):
        board.log("not provisioned (no CSMS URL or identity): run make deploy")
        return "quit"
    gc.collect()
    while True:
        why = asyncio.run(App(board, store).main())
        asyncio.new_event_loop()
        if why != "reboot":
            return why
        if reset:
            reset()
