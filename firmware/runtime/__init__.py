# runtime - asyncio shell around ocpp_lite: WebSocket, link supervisor, flash store, app loop.
