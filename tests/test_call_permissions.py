"""The pure rules for seeing and changing a call (crm/calls/permissions), and the owner the call log keeps."""

import datetime as dt
import shutil
import urllib.parse

import asyncpg

from crm.calls import queries as calls_q
from crm.calls.permissions import CallFacts, can_change, can_view
from crm.migrate import MIGRATIONS_DIR, load_migrations, migrate

ADMIN, SUPERVISOR = {"id": 1, "role": "admin"}, {"id": 2, "role": "supervisor"}
ALICE, BORIS = {"id": 3, "role": "manager"}, {"id": 4, "role": "manager"}
OLGA, OLEG = {"id": 5, "role": "operator"}, {"id": 6, "role": "operator"}
ALICES = {"id": 10, "responsible_user_id": 3, "created_by": 3, "deleted_at": None}
BORISS = {"id": 11, "responsible_user_id": 4, "created_by": 4, "deleted_at": None}
NOBODYS = {"id": 12, "responsible_user_id": None, "created_by": 6, "deleted_at": None}
# Olga answered a call from Alice's client.
CALL = CallFacts.of({"operator_user_id": 5, "caller_user_id": None, "responsible_user_id": 3})


def test_facts_of_a_call_row():
    assert CALL == CallFacts(frozenset({5}), 3)
    assert CallFacts.of({"operator_user_id": None, "caller_user_id": 7}) == CallFacts(frozenset({7}), None)


def test_supervisors_and_admins_change_any_call():
    for user in (ADMIN, SUPERVISOR):
        assert can_change(CALL, user) and can_change(CALL, user, BORISS)
        assert can_change(CallFacts(frozenset()), user, NOBODYS)


def test_participants_comment_and_attach_to_any_live_client():
    assert can_change(CALL, OLGA) and can_change(CALL, OLGA, ALICES) and can_change(CALL, OLGA, BORISS)
    placed = CallFacts(frozenset({4}), None)  # Boris's phone placed it
    assert can_change(placed, BORIS) and can_change(placed, BORIS, BORISS)
    assert not can_change(CALL, OLGA, {**NOBODYS, "deleted_at": dt.datetime(2026, 1, 1)})


def test_the_responsible_manager_changes_the_call_but_moves_it_only_where_he_may_edit():
    assert can_change(CALL, ALICE)
    assert can_change(CALL, ALICE, NOBODYS) and can_change(CALL, ALICE, ALICES)
    assert not can_change(CALL, ALICE, BORISS)


def test_nobody_else_changes_a_call():
    assert not can_change(CALL, BORIS) and not can_change(CALL, BORIS, BORISS) and not can_change(CALL, BORIS, NOBODYS)
    assert not can_change(CALL, OLEG) and not can_change(CALL, OLEG, NOBODYS)
    # A call on no client: only its participants and supervisors.
    unattached = CallFacts(frozenset({5}))
    assert not can_change(unattached, ALICE, ALICES) and not can_change(unattached, OLEG, NOBODYS)


def test_everyone_sees_a_call_but_one_on_a_deleted_card_only_overseers_and_its_participants():
    row = {"operator_user_id": 5, "caller_user_id": None, "counterparty_deleted_at": None}
    assert all(can_view(u, row) for u in (ADMIN, SUPERVISOR, ALICE, BORIS, OLGA, OLEG))
    gone = {**row, "counterparty_deleted_at": dt.datetime(2026, 1, 1)}
    assert [u["id"] for u in (ADMIN, SUPERVISOR, ALICE, BORIS, OLGA, OLEG) if can_view(u, gone)] == [1, 2, 5]


async def _insert(conn, channel, *, normalized="+74951234567", **kw):
    return await calls_q.insert_call(
        conn, channel_id=channel, direction="incoming", caller_number="84951234567", caller_normalized=normalized,
        caller_name="", called_number="100", called_normalized=None, line="trunk",
        started_at=dt.datetime.now(dt.timezone.utc), linked_id=None, **kw)


async def test_the_call_log_keeps_whose_client_called_and_a_later_move_does_not_change_it(db):
    async with db.acquire() as conn:
        alice = await conn.fetchval("INSERT INTO users (login, full_name, password_hash, role) "
                                    "VALUES ('alice', 'Alice', 'x', 'manager') RETURNING id")
        boris = await conn.fetchval("INSERT INTO users (login, full_name, password_hash, role) "
                                    "VALUES ('boris', 'Boris', 'x', 'manager') RETURNING id")
        client = await conn.fetchval("INSERT INTO counterparties (kind, last_name, responsible_user_id) "
                                     "VALUES ('client', 'Sokolov', $1) RETURNING id", alice)
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '84951234567', '+74951234567')", client)
        # The lookup's manager, the number's client when the lookup did not answer, nobody for a stranger.
        by_facts = await _insert(conn, "c1", counterparty_id=client, owner_user_id=alice)
        by_number = await _insert(conn, "c2")
        stranger = await _insert(conn, "c3", normalized="+79990000000")
        owners = dict(await conn.fetch("SELECT id, owner_user_id FROM calls"))
        assert owners == {by_facts: alice, by_number: alice, stranger: None}
        # A replayed StasisStart reuses the row and its owner; the client changing hands later does not move it.
        await conn.execute("UPDATE counterparties SET responsible_user_id = $1", boris)
        assert await _insert(conn, "c1", counterparty_id=client, owner_user_id=boris) == by_facts
        assert await conn.fetchval("SELECT owner_user_id FROM calls WHERE id = $1", by_facts) == alice


async def test_migration_0015_gives_existing_calls_their_clients_manager(server_url, tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    for m in load_migrations():
        if m.version < 15:
            shutil.copy(MIGRATIONS_DIR / m.name, before / m.name)
    name = f"pbxcrm_mig15_{dt.datetime.now().strftime('%H%M%S%f')}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(urllib.parse.urlunsplit(
            urllib.parse.urlsplit(server_url)._replace(path="/" + name)))
        try:
            await migrate(conn, before)
            alice = await conn.fetchval("INSERT INTO users (login, full_name, password_hash, role) "
                                        "VALUES ('alice', 'Alice', 'x', 'manager') RETURNING id")
            mine = await conn.fetchval("INSERT INTO counterparties (kind, last_name, responsible_user_id) "
                                       "VALUES ('client', 'Mine', $1) RETURNING id", alice)
            free = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'Free') "
                                       "RETURNING id")
            for channel, cp in (("a", mine), ("b", free), ("c", None)):
                await conn.execute("INSERT INTO calls (channel_id, direction, started_at, counterparty_id, comment) "
                                   "VALUES ($1, 'incoming', now(), $2, 'kept')", channel, cp)
            await migrate(conn)
            rows = await conn.fetch("SELECT channel_id, counterparty_id, owner_user_id, comment FROM calls "
                                    "ORDER BY channel_id")
            assert [tuple(r) for r in rows] == [("a", mine, alice, "kept"), ("b", free, None, "kept"),
                                                ("c", None, None, "kept")]
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
