"""tools.footprint - ROM, RAM, flash, data and CPU of every build profile (`make footprint`,
docs/footprint.md): `python -m tools.footprint [report|compare|diff] ...` (cli.py). Modules: rom
(the profile's code as it goes on a device), session (the reference session), wire (the relay
and its figures), valgrind, report (the text table, budgets), chart (the SVG)."""
