# ocpp_lite/certificates - M Certificate management: InstallCertificate and the installed
# certificates (install), GetInstalledCertificateIds and DeleteCertificate (query, left out of the
# lite build).
