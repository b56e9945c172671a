"""Two `pbxcrm ari` processes with one Stasis app name (issue 16): one is active, the other
a hot standby (ari_app/standby.py), against the fake ARI.

The standby does not connect to ARI while the active one holds the lock; when the
active one is killed it registers within 2 s and takes up the caller the dead one
was ringing a phone for, ringing what is left of the ring time, or straight on to the
queue when the manager's time is spent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import pytest

from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    bridged,
    count,
    ended_row,
    fake,
    no_recording,
    route,
    spec,
    start_app,
)
from tests.processes import PbxcrmProcess
from tests.tcp_proxy import closed_port


class AppProcesses:
    def __init__(self, fake, database_url: str, tmp_path: Path):
        self._env = dict(os.environ, DATABASE_URL=database_url, PBXCRM_ARI_URL=fake.url,
                         PBXCRM_RECORDINGS_DIR=str(tmp_path / "recordings"))
        self._dir = tmp_path
        self.started: list[PbxcrmProcess] = []

    async def start(self, wait_for: str) -> PbxcrmProcess:
        app = PbxcrmProcess(["ari"], self._env, self._dir / f"ari-{len(self.started)}.log")
        self.started.append(app)
        app.spawn()
        await self.wait_log(app, wait_for)
        return app

    @staticmethod
    async def wait_log(app: PbxcrmProcess, text: str, timeout: float = 15) -> float:
        """When `text` appeared in the app's log (monotonic), waiting for it."""
        deadline = time.monotonic() + timeout
        while text not in app.log_text():
            assert not app.exited, app.log_text()
            assert time.monotonic() < deadline, f"{text!r} not in the log:\n{app.log_text()}"
            await asyncio.sleep(0.02)
        return time.monotonic()


@pytest.fixture
async def apps(db, database_url, fake, tmp_path):  # noqa: F811
    processes = AppProcesses(fake, database_url, tmp_path)
    yield processes
    for app in processes.started:
        app.stop()


async def _manager_ring_seconds(pool, seconds: int) -> None:
    async with pool.acquire() as conn:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('routing.manager_ring_seconds', $1)
                              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""", json.dumps(seconds))


async def _active_and_standby(apps: AppProcesses, fake) -> tuple[PbxcrmProcess, PbxcrmProcess]:  # noqa: F811
    active = await apps.start("registered as Stasis app")
    standby = await apps.start("standing by (taken by another process)")
    await asyncio.sleep(1)  # a standby that did connect would have by now
    assert fake.connections == 1, "the standby left the events alone"
    return active, standby


async def _killed(app: PbxcrmProcess) -> float:
    assert app.proc is not None
    app.proc.kill()
    app.proc.wait()
    return time.monotonic()


async def test_the_standby_takes_over_within_2_s_and_routes_the_waiting_caller_within_3_s(
        db, crm, fake, apps):  # noqa: F811
    await no_recording(db)
    active, standby = await _active_and_standby(apps, fake)
    caller = await fake.incoming(STRANGER)
    first_leg = (await fake.next_originate("PJSIP/103", timeout=5)).query["channelId"]
    killed_at = await _killed(active)
    await fake.wait_for(lambda: fake.connections == 2, timeout=5, what="the standby's events connection")
    took_over = time.monotonic() - killed_at
    # The phone the dead app was ringing is hung up, and rung again by the new one.
    assert (await fake.wait_gone(first_leg, timeout=5))["cause"] == 16
    leg = (await fake.next_originate("PJSIP/103", after=1, timeout=5)).query["channelId"]
    routed = time.monotonic() - killed_at
    print(f"\nstandby: registered {took_over:.2f} s, rang the caller's phone {routed:.2f} s after the kill")
    assert took_over < 2.0 and routed < 3.0, (took_over, routed, standby.log_text())

    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert route(row)[0] == ("note", "pbxcrm", "took the call up again after a restart")
    assert await count(db, "SELECT count(*) FROM calls") == 1


async def test_a_caller_whose_managers_ring_time_is_spent_goes_straight_to_the_queue(db, crm, fake, apps):  # noqa: F811
    await no_recording(db)
    await _manager_ring_seconds(db, 2)
    active, standby = await _active_and_standby(apps, fake)
    caller = await fake.incoming(CLIENT)
    await fake.next_originate("PJSIP/102", timeout=5)  # the manager's phone, 2 s...
    queue_leg = (await fake.next_originate("PJSIP/103", timeout=5)).query["channelId"]  # ...then the queue
    # The manager's step is in the call log (its writer's own task, a moment after the queue rings): a process
    # killed before that loses the step with it, which is not what this test is about.
    for _ in range(200):
        async with db.acquire() as conn:
            if await conn.fetchval("SELECT jsonb_array_length(route) FROM calls WHERE channel_id = $1", caller):
                break
        await asyncio.sleep(0.02)
    await _killed(active)
    await fake.wait_gone(queue_leg, timeout=5)
    leg = (await fake.next_originate("PJSIP/103", after=1, timeout=5)).query["channelId"]
    assert len(fake.originated("PJSIP/102")) == 1, "the manager is not rung again from the start"
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=3)
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert [r[0] for r in route(row)] == ["manager", "note", "queue"], route(row)


async def test_a_caller_taken_up_mid_ring_rings_its_manager_for_the_rest_of_the_time(db, crm, fake, apps):  # noqa: F811
    await no_recording(db)
    await _manager_ring_seconds(db, 12)
    active, standby = await _active_and_standby(apps, fake)
    caller = await fake.incoming(CLIENT)
    first_leg = await fake.next_originate("PJSIP/102", timeout=5)
    await asyncio.sleep(2)
    await _killed(active)
    again = await fake.next_originate("PJSIP/102", after=1, timeout=5)
    assert int(first_leg.query["timeout"]) == 12
    # 12 s less the 2 s and more it rang before: the rest, not the whole ring time again.
    assert 5 <= int(again.query["timeout"]) <= 10, again.query
    await fake.answer(again.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert row["status"] == "answered" and row["operator_user_id"] == crm["ivanova"]["id"]


async def test_a_stopped_active_app_hands_over_and_a_standby_stops_at_once_on_sigterm(db, crm, fake, apps):  # noqa: F811
    active, standby = await _active_and_standby(apps, fake)
    assert active.proc is not None and standby.proc is not None
    stopped_at = time.monotonic()
    active.proc.terminate()  # a restart by systemd, say
    await fake.wait_for(lambda: fake.connections == 2, timeout=5, what="the standby's events connection")
    assert time.monotonic() - stopped_at < 2.0, standby.log_text()
    assert active.proc.wait(10) == 0
    third = await apps.start("standing by (taken by another process)")  # the restarted one waits now
    assert third.proc is not None
    started = time.monotonic()
    third.proc.terminate()
    assert third.proc.wait(10) == 0 and time.monotonic() - started < 10, third.log_text()


async def test_a_caller_the_dialplan_offers_back_is_taken_up_as_after_a_restart(db, crm, fake, start_app):  # noqa: F811
    """The dialplan's default queue rang its phones while the app was away, and offers the caller to
    the app between rounds (dialplan/pbxcrm.conf): the app takes it up, the manager's ring time spent."""
    await no_recording(db)
    await start_app()
    caller = await fake.incoming(CLIENT, context="pbxcrm-default-queue", waited=25)
    leg = (await fake.next_originate("PJSIP/103", timeout=5)).query["channelId"]
    assert not fake.originated("PJSIP/102"), "its 20 s passed while the dialplan rang the queue"
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert row["status"] == "answered" and route(row)[0] == ("note", "pbxcrm", "took the call up again after a restart")
    assert (row["started_at"] - row["answered_at"]).total_seconds() < -24, "the call began when it came in"


async def test_an_app_started_without_the_database_yields_to_one_holding_the_lock(db, crm, fake, start_app, caplog):  # noqa: F811
    """No database to ask at start: the app takes the name rather than leave callers to the dialplan.
    When a process holding the lock registers, Asterisk tells the first (ApplicationReplaced) and it
    stands by instead of taking the name back at its next reconnect."""
    await no_recording(db)
    nowhere = f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere"
    caplog.set_level(logging.INFO, logger="ari_app.standby")
    await start_app(database_url=nowhere)
    assert "active (no database to ask; yields to a holder of the lock)" in caplog.text
    await start_app()
    await fake.wait_for(lambda: "another process is active (Asterisk gave it the app)" in caplog.text,
                        timeout=5, what="the first app standing by")
    await fake.drop_websocket()  # the holder reconnects; the one standing by does not
    await fake.wait_for(lambda: fake.connections == 3, timeout=5, what="the holder's reconnect")
    await asyncio.sleep(1.5)
    assert fake.connections == 3
    caller = await fake.incoming(STRANGER)
    await fake.next_originate("PJSIP/103", timeout=5)
    await asyncio.sleep(0.5)
    assert len(fake.originated("PJSIP/103")) == 1, "one app routes the call"
    await fake.hang_up(caller)
