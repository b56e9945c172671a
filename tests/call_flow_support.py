"""Running the Stasis app against the fake ARI (tests/fake_ari.py), for tests/test_call_flow.py.

The app is driven only through its public entry point, `ari_app.app.run(settings,
stop)`, the wire (requests it makes, events the fake sends) and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import asyncpg
import pytest

from ari_app.app import run
from crm.settings import Settings
from tests.ari_spec import DOCS_DIR, AriSpec
from tests.fake_ari import FakeAri
from tests.fast_clock import real_monotonic


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
        deadline = real_monotonic() + 20
        while not task.done():
            if real_monotonic() > deadline:
                for t in asyncio.all_tasks():
                    t.print_stack(limit=8)
                raise AssertionError("the app did not stop within 20 s")
            await asyncio.sleep(0.005)
        task.result()
        assert self.fake.violations == [], "requests or events the ARI documents do not allow"


def app_settings(settings: Settings, fake: FakeAri, tmp_path, **overrides) -> Settings:
    # ari_url may be overridden too: the fake behind a proxy.
    return dataclasses.replace(settings, **{"ari_url": fake.url, "recordings_dir": tmp_path / "recordings",
                                            **overrides})


async def ended_row(pool: asyncpg.Pool, channel_id: str, steps: int = 1, timeout: float = 5.0) -> asyncpg.Record:
    """The call row of this caller channel once its end and `steps` route steps are written.

    The end comes from the caller's ChannelDestroyed, the last step from the call's
    own task: either may be written first.
    """
    deadline = real_monotonic() + timeout
    while True:
        async with pool.acquire() as conn:
            row = await conn.fetchrow("""SELECT * FROM calls WHERE channel_id = $1 AND ended_at IS NOT NULL
                                         AND jsonb_array_length(route) >= $2""", channel_id, steps)
        if row is not None:
            return row
        assert real_monotonic() < deadline, f"no ended call row for {channel_id}"
        await asyncio.sleep(0.01)


def route(row: asyncpg.Record) -> list[tuple[str, str, str]]:
    """The route steps as (kind, target, result)."""
    return [(s["kind"], s["target"], s["result"]) for s in json.loads(row["route"])]


def in_order(commands: list[str], expected: list[str]) -> bool:
    """`expected` appears in `commands` in this order (others may come between)."""
    it = iter(commands)
    return all(any(c == e for c in it) for e in expected)


class Pops:
    """Screen pops the app sends (NOTIFY pbxcrm_pops), as (user id, event); `queues` in step with
    `seen`: the queue id each pop carried (None: not through a queue), for the queue's call script."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self.queues: list[int | None] = []
        self.detail: list[str] = []
        self._conn: asyncpg.Connection | None = None

    async def listen(self, database_url: str) -> "Pops":
        from crm.pops import CHANNEL

        self._conn = await asyncpg.connect(database_url)
        await self._conn.add_listener(CHANNEL, lambda _c, _p, _ch, payload: self._record(json.loads(payload)))
        return self

    def _record(self, payload: dict) -> None:
        self.seen.append((payload["user_id"], payload["event"]))
        self.queues.append(payload.get("queue_id"))
        self.detail.append(payload.get("detail", ""))

    def of(self, user_id: int) -> list[tuple[str, int | None]]:
        """This user's pops as (event, queue id), in the order sent."""
        return [(event, queue) for (whom, event), queue in zip(self.seen, self.queues) if whom == user_id]

    def details(self, user_id: int) -> list[str]:
        """This user's pops' details ("hung_up" on an "ended": crm/pops/events.py), in the order sent."""
        return [detail for (whom, _), detail in zip(self.seen, self.detail) if whom == user_id]

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


# ---- fixtures for the call-flow test modules (imported there by name) ----

CLIENT = "+74951234567"  # tests.helpers.CLIENT_PHONE as a trunk sends it
STRANGER = "+74997654321"


@pytest.fixture(scope="module")
def spec() -> AriSpec:
    if not (DOCS_DIR / "resources.json").exists():
        pytest.fail(f"the ARI Swagger documents are missing at {DOCS_DIR} (set PBXCRM_ARI_API_DOCS)")
    return AriSpec.load(DOCS_DIR)


@pytest.fixture
async def fake(spec):
    ari = FakeAri(spec)
    await ari.start()
    for extension in ("102", "103", "104"):
        ari.add_phone(extension)
    yield ari
    await ari.close()


@pytest.fixture
async def start_app(fake, settings, tmp_path):
    apps: list[RunningApp] = []

    async def start(**overrides) -> RunningApp:
        app = RunningApp(fake, app_settings(settings, fake, tmp_path, **overrides))
        apps.append(app)
        return await app.start()

    yield start
    for app in apps:
        await app.stop()


async def no_recording(pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('recording.policy', '{"mode": "none"}')
                              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""")


async def count(pool, sql: str, *args) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(sql, *args)



def bridged(fake: FakeAri, caller: str) -> bool:
    """The caller and one phone are talking in the app's bridge."""
    return len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2
