"""python -m tools.campaigns: `make reliability` (reliability.py)."""

import sys

from tools.campaigns import reliability

sys.exit(reliability.main(sys.argv[1:]))
