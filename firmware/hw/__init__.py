# hw - the board logic shared by the ESP32 and RP2040 packages: the hardware loop that polls
# control pilot, contactor, meter and RFID reader and feeds the station, Wi-Fi bring-up,
# the watchdog task, provisioning. Boards pass in their machine objects; hw never imports
# machine or network.
