# host_tests/mp/nomachine/network.py - see machine.py next to it.
raise ImportError("the OCPP stack imported network")
