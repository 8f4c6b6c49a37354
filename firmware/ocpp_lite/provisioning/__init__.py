# ocpp_lite/provisioning - B Provisioning: boot (B01-B04), the device model (dmtable, devmodel)
# and its messages (variables: B05-B07), network profiles (B09/B10) and reset (B11/B12).
