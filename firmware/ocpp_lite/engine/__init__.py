# ocpp_lite/engine - the protocol engine: OCPP-J framing (rpc), the request session, the JSON
# syntax check, payload schemas and the clock helpers. No I/O.
