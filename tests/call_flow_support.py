"""Running the Stasis app against the fake ARI (tests/fake_ari.py), for tests/test_call_flow.py.

The app is driven only through its public entry point, `ari_app.app.run(settings,
stop)`, the wire (requests it makes, events the fake sends) and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import asyncpg

from ari_app.app import run
from crm.settings import Settings
from tests.fake_ari import FakeAri


class RunningApp:
    def __init__(self, fake: FakeAri, settings: Settings):
        self.fake = fake
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def start(self) -> "RunningApp":
        listed = len(self.fake.calls_to("GET", "/bridges"))
        self.task = asyncio.create_task(run(self.settings, self.stop_event))
        # Ready once the resync after connecting has listed the bridges (routing data is read before).
        await self.fake.wait_for(lambda: self.task.done() or len(self.fake.calls_to("GET", "/bridges")) > listed,
                                 timeout=10, what="the app to connect and resync")
        if self.task.done():
            self.task.result()
        return self

    async def stop(self) -> None:
        if self.task is None:
            return
        self.stop_event.set()
        task, self.task = self.task, None
        await asyncio.wait_for(task, 20)
        assert self.fake.violations == [], "requests or events the ARI documents do not allow"


def app_settings(settings: Settings, fake: FakeAri, tmp_path, **overrides) -> Settings:
    return dataclasses.replace(settings, ari_url=fake.url, recordings_dir=tmp_path / "recordings", **overrides)


async def ended_row(pool: asyncpg.Pool, channel_id: str, steps: int = 1, timeout: float = 5.0) -> asyncpg.Record:
    """The call row of this caller channel once its end and `steps` route steps are written.

    The end comes from the caller's ChannelDestroyed, the last step from the call's
    own task: either may be written first.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with pool.acquire() as conn:
            row = await conn.fetchrow("""SELECT * FROM calls WHERE channel_id = $1 AND ended_at IS NOT NULL
                                         AND jsonb_array_length(route) >= $2""", channel_id, steps)
        if row is not None:
            return row
        assert asyncio.get_running_loop().time() < deadline, f"no ended call row for {channel_id}"
        await asyncio.sleep(0.01)


def route(row: asyncpg.Record) -> list[tuple[str, str, str]]:
    """The route steps as (kind, target, result)."""
    return [(s["kind"], s["target"], s["result"]) for s in json.loads(row["route"])]


def in_order(commands: list[str], expected: list[str]) -> bool:
    """`expected` appears in `commands` in this order (others may come between)."""
    it = iter(commands)
    return all(any(c == e for c in it) for e in expected)


class Pops:
    """Screen pops the app sends (NOTIFY pbxcrm_pops), as (user id, event)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self._conn: asyncpg.Connection | None = None

    async def listen(self, database_url: str) -> "Pops":
        from crm.pops import CHANNEL

        self._conn = await asyncpg.connect(database_url)
        await self._conn.add_listener(CHANNEL, lambda _c, _p, _ch, payload: self.seen.append(
            (json.loads(payload)["user_id"], json.loads(payload)["event"])))
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
