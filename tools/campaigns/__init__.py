"""tools.campaigns - the fault campaigns (`make reliability`, docs/reliability.md): records.py is
what each campaign test (host_tests/test_campaign_*.py) records of its run, reliability.py runs
the campaigns in full and makes their tables: `python -m tools.campaigns [run|table]`."""
