# Wi-Fi bring-up (firmware/hw/wifi.py) on the unix port with the fake network module: join
# from the stored credentials, notice a loss, drop the CSMS link and join again.
import asyncio
import hwfakes
import network
from hw.wifi import Wifi


async def _scenario(w, wlan, downs):
    task = asyncio.create_task(w.run(lambda: downs.append(1)))
    await asyncio.wait_for_ms(w.wait(), 1000)
    assert wlan.connects == ["lab"] and wlan.active()
    wlan.drop()  # the access point went away
    for _ in range(30):
        await asyncio.sleep_ms(100)
        if downs and w.up:
            break
    task.cancel()


def test_join_loss_and_rejoin():
    hwfakes.fresh()
    network.NETWORKS.clear()
    network.NETWORKS["lab"] = "secret"
    wlan = network.WLAN(network.STA_IF)
    logs = []
    w = Wifi(wlan, "lab", "secret", logs.append)
    downs = []
    hwfakes.run(_scenario(w, wlan, downs))
    assert downs == [1] and w.up and wlan.connects == ["lab", "lab"]
    assert logs == ["wifi up: 127.0.0.1", "wifi lost", "wifi up: 127.0.0.1"]


async def _unprovisioned(w):
    task = asyncio.create_task(w.run(lambda: None))
    await asyncio.sleep_ms(100)
    task.cancel()


def test_nothing_provisioned_waits_without_joining():
    hwfakes.fresh()
    wlan = network.WLAN(network.STA_IF)
    logs = []
    w = Wifi(wlan, "", "", logs.append)
    hwfakes.run(_unprovisioned(w))
    assert wlan.connects == [] and not w.up
    assert logs == ["no Wi-Fi provisioned (store document wifi)"]
