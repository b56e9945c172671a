"""The ARI event dispatcher: per-channel order, no head-of-line blocking."""

import asyncio

from ari_app.dispatcher import ChannelEventDispatcher


def _event(kind: str, channel: str, n: int = 0) -> dict:
    return {"type": kind, "channel": {"id": channel}, "n": n}


async def test_a_slow_call_does_not_delay_another():
    seen: list[tuple[str, int]] = []
    release = asyncio.Event()

    async def on_start(event):
        if event["channel"]["id"] == "slow":
            await release.wait()
        seen.append((event["channel"]["id"], event["n"]))

    d = ChannelEventDispatcher({"StasisStart": on_start, "ChannelDestroyed": on_start})
    d.dispatch(_event("StasisStart", "slow", 1))
    d.dispatch(_event("StasisStart", "fast", 2))
    await asyncio.sleep(0.05)
    assert seen == [("fast", 2)]
    release.set()
    await asyncio.sleep(0.05)
    assert seen == [("fast", 2), ("slow", 1)]
    await d.close()


async def test_events_of_one_channel_are_handled_in_order():
    seen = []

    async def handler(event):
        await asyncio.sleep(0.01 if event["n"] == 0 else 0)
        seen.append(event["n"])

    d = ChannelEventDispatcher({"StasisStart": handler, "ChannelDestroyed": handler})
    for n in range(5):
        d.dispatch(_event("StasisStart", "c1", n))
    d.dispatch(_event("ChannelDestroyed", "c1", 5))
    await asyncio.sleep(0.1)
    assert seen == [0, 1, 2, 3, 4, 5]
    assert d.active_channels == 0
    await d.close()


async def test_a_failing_handler_does_not_stop_the_channel():
    seen = []

    async def handler(event):
        if event["n"] == 0:
            raise RuntimeError("boom")
        seen.append(event["n"])

    d = ChannelEventDispatcher({"StasisStart": handler})
    d.dispatch(_event("StasisStart", "c1", 0))
    d.dispatch(_event("StasisStart", "c1", 1))
    await asyncio.sleep(0.05)
    assert seen == [1]
    await d.close()


async def test_unknown_events_are_ignored():
    d = ChannelEventDispatcher({})
    d.dispatch({"type": "ChannelVarset", "channel": {"id": "x"}})
    assert d.active_channels == 0
