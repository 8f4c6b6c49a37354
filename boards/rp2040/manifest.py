# boards/rp2040/manifest.py - what the custom Pico W firmware freezes: the port's standard
# modules, the OCPP client modules of a build profile (tools/profiles.py; OCPP_PROFILE=lite,
# core or core-sc, default lite), the drivers and the shared board code (hw), and this
# board's modules. Read by the MicroPython build (mpconfigboard.cmake); build commands in
# README.md.
include("$(PORT_DIR)/boards/manifest.py")
include("../common/manifest.py", board="rp2040")
