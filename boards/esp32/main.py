# boards/esp32/main.py - runs at boot: the charging station on this board, from the
# application bundle a firmware update installed if there is one (hw/appdir.py); a reboot or
# a crash resets the chip.
import esp32
import machine
from hw.appdir import boot

boot(machine.reset, esp32)
