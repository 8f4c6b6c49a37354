# hw/main.py - one run of the station on a board: open the store, build the board, run the
# station until it asks for a reboot or quits. hw/appdir.py (the board's main.py) chooses the
# code before and resets the chip after; it calls run() of the code it chose, so run keeps
# this signature.
import asyncio
import gc
import os

STATE = "/state"  # the station's flash directory


def _provisioned(store):
    from runtime.config import provisioned  # a local: the module is let go of (runtime/app.py)

    return provisioned(store)


def run(make_board, root=STATE):
    """make_board(store) -> board object. Returns why the run ended: "reboot" or "quit"."""
    from runtime.app import App
    from runtime.store import Store

    try:
        os.mkdir(root)
    except OSError:
        pass  # exists
    gc.collect()  # the store and the board live for good: placed low, below the imports' garbage
    store = Store(root)
    board = make_board(store)
    if not _provisioned(store):
        board.log("not provisioned (no CSMS URL or identity): run make deploy")
        return "quit"
    gc.collect()
    try:
        return asyncio.run(App(board, store).main())
    finally:
        asyncio.new_event_loop()
