"""OCPP2.Lite host tools (CPython), run from the repository root as `python -m tools.<name>`:
footprint (tools/footprint/), campaigns (tools/campaigns/: `make reliability`), conformance,
deploy, demo (`make sim`), bench, csms, packages, mp32; profiles and budgets are read by them."""
