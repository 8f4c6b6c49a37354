# host_tests/mp/nomachine/machine.py - put first on sys.path by test_drv_nomachine.py: any
# import of machine by the stack fails the test.
raise ImportError("the OCPP stack imported machine")
