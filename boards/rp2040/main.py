# boards/rp2040/main.py - runs at boot: the charging station on this board, from the
# application bundle a firmware update installed if there is one (hw/appdir.py); a reboot or
# a crash resets the chip.
import machine
from hw.appdir import boot

boot(machine.reset)
