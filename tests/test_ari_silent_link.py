"""The ARI events link dies without closing (issue 16): nothing arrives, nothing says so.

The fake ARI sits behind tests/tcp_proxy.py; `freeze` makes the open connections
drop everything both ways while staying open, as a dead peer or a lost NAT entry
does. The app must notice within 5 s (websocket pings), reconnect, resync, and
route the next call - its REST requests too, which the frozen link also carried.
"""

from __future__ import annotations

import urllib.parse

from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    STRANGER,
    bridged,
    count,
    ended_row,
    fake,
    no_recording,
    spec,
    start_app,
)
from tests.fast_clock import real_monotonic
from tests.tcp_proxy import TcpProxy


async def test_a_silent_link_is_found_within_5_s_and_the_next_call_routes(db, crm, fake, start_app):
    await no_recording(db)
    proxy = await TcpProxy("127.0.0.1", urllib.parse.urlsplit(fake.url).port).start()
    try:
        app = await start_app(ari_url=proxy.url)
        assert fake.connections == 1
        assert proxy.freeze() >= 1, "the app's connections go through the proxy"
        frozen_at = real_monotonic()
        await fake.wait_for(lambda: fake.connections == 2, timeout=10, what="a new events connection")
        reconnected = real_monotonic() - frozen_at
        await fake.wait_for(lambda: len(fake.calls_to("GET", "/bridges")) == 2, timeout=5, what="the resync")
        resynced = real_monotonic() - frozen_at
        print(f"\nsilent link: reconnected {reconnected:.2f} s, resynced {resynced:.2f} s after the freeze")
        assert reconnected < 5.0 and resynced < 5.0, (reconnected, resynced)

        caller = await fake.incoming(STRANGER)
        leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
        await fake.answer(leg)
        await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
        await fake.hang_up(caller)
        assert (await fake.wait_gone(leg))["cause"] == 16
        row = await ended_row(db, caller)
        await app.stop()
    finally:
        await proxy.close()
    assert row["status"] == "answered" and await count(db, "SELECT count(*) FROM calls") == 1
