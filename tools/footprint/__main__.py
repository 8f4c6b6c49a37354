"""python -m tools.footprint: the footprint tool's command line (cli.py)."""

import sys

from tools.footprint import cli

sys.exit(cli.main(sys.argv[1:]))
