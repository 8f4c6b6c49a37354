# boards/rp2040/main.py - runs at boot: the charging station on this board.
import machine
from board import make_board
from hw.main import run

run(make_board, machine.reset)
