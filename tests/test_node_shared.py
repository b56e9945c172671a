"""More than one PBX (issue 26), the shared part without Asterisk: two nodes' SharedState objects on one
database, as two `pbxcrm ari` processes have them, and each node's PhoneStates on top (ari_app/cluster/)."""

from __future__ import annotations

import asyncio
import json

import pytest

from ari_app.cluster.shared import SharedState, trunk_to
from ari_app.phone_states import PhoneStates
from crm.nodes import shared as shared_q


class NoAri:
    """PhoneStates asks ARI only for a device it knows nothing of; these tests must never need to."""

    async def get_endpoint(self, technology: str, resource: str) -> dict:
        raise AssertionError(f"ARI asked for {technology}/{resource}")


async def until(check, seconds: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, "not within %.1f s" % seconds
        await asyncio.sleep(0.02)


@pytest.fixture
async def nodes(db, database_url):
    """Nodes a (phones 7101, 7102) and b (7201), each with its shared state running and its phones listed."""
    a, b = SharedState(db, database_url, "a"), SharedState(db, database_url, "b")
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    a.listed({"PJSIP/7101": "NOT_INUSE", "PJSIP/7102": "NOT_INUSE", "PJSIP/node-b": "NOT_INUSE"})
    b.listed({"PJSIP/7201": "NOT_INUSE", "PJSIP/node-a": "NOT_INUSE"})
    await until(lambda: a.is_remote("PJSIP/7201") and b.is_remote("PJSIP/7101"))
    yield a, b
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_each_node_rings_the_others_phones_through_its_trunk_and_its_own_directly(nodes):
    a, b = nodes
    assert a.route("PJSIP/7201") == f"PJSIP/7201@{trunk_to('b')}" == "PJSIP/7201@node-b"
    assert a.route("PJSIP/7101") == "PJSIP/7101"
    assert b.route("PJSIP/7101&PJSIP/7201") == "PJSIP/7101@node-a&PJSIP/7201"
    # What has no device of its own, or another technology, or is unknown anywhere, is left as it was.
    assert a.route("PJSIP/79161234567@trunk") == "PJSIP/79161234567@trunk"
    assert a.route("SIP/7201") == "SIP/7201"
    assert a.route("PJSIP/9999") == "PJSIP/9999"


async def test_a_phone_busy_on_one_node_is_busy_for_the_other(nodes):
    a, b = nodes
    states_a, states_b = PhoneStates(NoAri()), PhoneStates(NoAri())  # type: ignore[arg-type]
    states_a.share_with(a)
    states_b.share_with(b)
    # 7201 (node b's) talks on a call of node b: its device state, told by b, makes it busy for a.
    await states_b.on_device_state_changed({"device_state": {"name": "PJSIP/7201", "state": "INUSE"}})
    await until(lambda: a.remote_state("PJSIP/7201") == "INUSE")
    assert await states_a.problem("7201") == "busy on another call"
    assert states_a.try_reserve("caller-1", ["7201"]) == []
    # Free again, a's waiting callers are woken and may take it.
    woken = states_a.freed()
    await states_b.on_device_state_changed({"device_state": {"name": "PJSIP/7201", "state": "NOT_INUSE"}})
    await asyncio.wait_for(woken.wait(), 3)
    assert await states_a.problem("7201") is None


async def test_a_hold_taken_on_one_node_is_seen_by_the_other_before_any_device_state(nodes, db):
    a, b = nodes
    states_a, states_b = PhoneStates(NoAri()), PhoneStates(NoAri())  # type: ignore[arg-type]
    states_a.share_with(a)
    states_b.share_with(b)
    # A call on node a reserves b's 7201 (before it rings, so before b's Asterisk says anything).
    assert states_a.try_reserve("caller-on-a", ["7201"]) == ["7201"]
    assert states_a.where_to_ring("7201") == "PJSIP/7201@node-b"
    await until(lambda: b.held_elsewhere("PJSIP/7201"))
    assert states_b.try_reserve("caller-on-b", ["7201"]) == []
    assert await states_b.problem("7201") == "busy on another call"
    row = await db.fetchrow("SELECT node, held_by FROM phone_presence WHERE device = 'PJSIP/7201'")
    assert (row["node"], row["held_by"]) == ("b", "a")
    # Given back: b may ring it.
    woken = states_b.freed()
    states_a.release("caller-on-a")
    await asyncio.wait_for(woken.wait(), 3)
    assert states_b.try_reserve("caller-on-b", ["7201"]) == ["7201"]


async def test_round_robin_turns_taken_on_one_node_are_the_others_start(nodes, db):
    a, b = nodes
    a.turns[5] = 3
    await until(lambda: b.turns.get(5) == 3)
    b.turns[5] = 4
    await until(lambda: a.turns.get(5) == 4)
    # A turn that arrives late never takes the queue back.
    b.turns.learn(5, 2)
    assert b.turns[5] == 4
    assert (await shared_q.turns(db))[5] == 4


async def test_a_node_that_starts_again_holds_nothing_and_a_node_reads_the_others_on_start(db, database_url):
    async with db.acquire() as conn:
        await shared_q.replace_phones(conn, "b", {"PJSIP/7201": "NOT_INUSE"})
        await shared_q.set_held(conn, "a", "PJSIP/7201", True)
        await shared_q.set_turn(conn, "b", 9, 7)
    a = SharedState(db, database_url, "a")
    task = asyncio.create_task(a.run())
    try:
        # Read on start: b's phone and turn. a's own old hold (its calls died with the old process) is let go.
        await until(lambda: a.is_remote("PJSIP/7201") and a.turns.get(9) == 7)
        for _ in range(100):
            if await db.fetchval("SELECT held_by FROM phone_presence WHERE device = 'PJSIP/7201'") is None:
                break
            await asyncio.sleep(0.02)
        assert await db.fetchval("SELECT held_by FROM phone_presence WHERE device = 'PJSIP/7201'") is None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_note_that_is_not_json_is_logged_and_changes_nothing(nodes, db, caplog):
    a, b = nodes
    await db.execute("SELECT pg_notify($1, $2)", shared_q.SHARED_CHANNEL, "{not json")
    await db.execute("SELECT pg_notify($1, $2)", shared_q.SHARED_CHANNEL,
                     json.dumps({"node": "b", "device": "PJSIP/7201", "state": "INUSE"}))
    await until(lambda: a.remote_state("PJSIP/7201") == "INUSE")
    assert "not JSON" in caplog.text


async def test_a_supervisors_request_is_taken_by_the_app_of_the_node_the_call_is_on(db, database_url):
    """Listen-in, whisper, barge and the web's transfers act on the call's channels: only its node's app may
    take them (crm/request_rows.py). Each app's pool says its node; with one PBX nothing says one."""
    from crm.db import create_pool
    from crm.supervision import queries as supervision_q
    from tests.helpers import make_user

    supervisor = await make_user(db, "boss", "supervisor", full_name="Boss", extension="7102")
    call_on_a = await db.fetchval("""INSERT INTO calls (channel_id, direction, started_at, node)
                                     VALUES ('node-a-1.1', 'incoming', now(), 'a') RETURNING id""")
    request = await db.fetchval(
        """INSERT INTO supervision_requests (call_id, channel_id, supervisor_id, extension, mode)
           VALUES ($1, 'node-a-1.1', $2, '7102', 'listen') RETURNING id""", call_on_a, supervisor["id"])
    pools = {node: await create_pool(database_url, node=node) for node in ("a", "b")}
    try:
        async with pools["b"].acquire() as conn:
            assert await supervision_q.pending_ids(conn) == []
            assert await supervision_q.claim(conn, request) is None
        async with pools["a"].acquire() as conn:
            assert await supervision_q.pending_ids(conn) == [request]
            taken = await supervision_q.claim(conn, request)
            assert taken is not None and taken["call_id"] == call_on_a
        # A centre with one PBX: a call without a node, an app without one.
        single = await db.fetchval("""INSERT INTO calls (channel_id, direction, started_at)
                                      VALUES ('1.2', 'incoming', now()) RETURNING id""")
        other = await db.fetchval(
            """INSERT INTO supervision_requests (call_id, channel_id, supervisor_id, extension, mode)
               VALUES ($1, '1.2', $2, '7102', 'listen') RETURNING id""", single, supervisor["id"])
        async with db.acquire() as conn:
            assert await supervision_q.claim(conn, other) is not None
    finally:
        for p in pools.values():
            await p.close()
