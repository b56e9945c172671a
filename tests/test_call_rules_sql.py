"""The call rules as SQL (crm/calls/rules_sql.py) select exactly the calls the pure function allows
(crm/calls/rules.py decide): random rules and random calls, in the real database; and migration 0027
seeds the rules DEFAULT_RULES says."""

import asyncio
import datetime as dt

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from crm.calls import rule_queries
from crm.calls.queries import RULE_FACTS
from crm.calls.rules import ACTIONS, DEFAULT_RULES, DENY, DIRECTIONS, EFFECTS, TRISTATES, Facts, Rule, decide
from crm.calls.rules_sql import condition
from crm.migrate import migrate
from crm.roles import ROLES

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


async def _world(conn) -> dict:
    """A user of each role (and a second operator), three cards (one deleted), two lines, two queues."""
    users = [await conn.fetchval("INSERT INTO users (login, full_name, password_hash, role) "
                                 "VALUES ($1, $1, 'x', $2) RETURNING id", f"u{i}", role)
             for i, role in enumerate((*ROLES, "operator"))]
    cards = [await conn.fetchval("INSERT INTO counterparties (kind, last_name, responsible_user_id, deleted_at) "
                                 "VALUES ('client', $1, $2, $3) RETURNING id", name, responsible, deleted)
             for name, responsible, deleted in (("A", users[1], None), ("B", users[0], T0), ("C", None, None))]
    lines = [await conn.fetchval("INSERT INTO lines (name, trunk, did) VALUES ($1, 'trunk', $2) RETURNING id",
                                   f"L{i}", f"+7495000000{i}")
             for i in range(2)]
    queues = [await conn.fetchval("SELECT id FROM queues WHERE is_default"),
              await conn.fetchval("INSERT INTO queues (name) VALUES ('Second') RETURNING id")]
    return {"users": users, "roles": (*ROLES, "operator"), "cards": cards, "lines": lines, "queues": queues}


def _strategies(world: dict):
    users, maybe_user = world["users"], st.sampled_from([None, *world["users"]])
    # Mostly "any", so that rules often hold and the order of rules matters.
    tri = st.sampled_from([None, None, None, True, False])
    call = st.fixed_dictionaries({
        "direction": st.sampled_from(DIRECTIONS), "ended": st.booleans(),
        "line_id": st.sampled_from([None, *world["lines"]]), "queue_id": st.sampled_from([None, *world["queues"]]),
        "counterparty_id": st.sampled_from([None, *world["cards"]]), "operator_user_id": maybe_user,
        "caller_user_id": maybe_user, "owner_user_id": maybe_user,
        "legs": st.lists(st.sampled_from(users), max_size=2, unique=True)})
    ids = st.one_of(st.just(frozenset()), st.just(frozenset()),
                    st.frozensets(st.sampled_from([*world["lines"], *world["queues"], 999_999]), max_size=2))
    rule = st.builds(Rule, action=st.sampled_from(ACTIONS), effect=st.sampled_from(EFFECTS),
                     roles=st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from(ROLES), max_size=2)),
                     took_part=tri, finished=tri,
                     directions=st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from(DIRECTIONS), max_size=2)),
                     line_ids=ids, queue_ids=ids, responsible=tri, owner=tri, card_deleted=tri,
                     position=st.integers(1, 50), id=st.integers(1, 10_000))
    return st.lists(rule, max_size=8), st.lists(call, min_size=1, max_size=8), st.sampled_from(range(len(users)))


async def _insert_calls(conn, calls: list[dict]) -> None:
    for i, c in enumerate(calls):
        call_id = await conn.fetchval(
            """INSERT INTO calls (channel_id, direction, started_at, ended_at, line_id, queue_id, counterparty_id,
                                  operator_user_id, caller_user_id, owner_user_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""",
            f"p{i}", c["direction"], T0, T0 if c["ended"] else None, c["line_id"], c["queue_id"],
            c["counterparty_id"], c["operator_user_id"], c["caller_user_id"], c["owner_user_id"])
        for position, user_id in enumerate(c["legs"], start=1):
            await conn.execute("INSERT INTO call_legs (call_id, position, user_id, answered_at) VALUES ($1, $2, $3, $4)",
                               call_id, position, user_id, T0)


async def _disagreements(conn, rules: list[Rule], user: dict) -> list[str]:
    facts = {r["id"]: Facts.of_call(r) for r in await conn.fetch(f"SELECT c.id, {RULE_FACTS} FROM calls c")}
    out = []
    for action in ACTIONS:
        where, params = condition(rules, user, action, start=2)
        by_sql = {r["id"] for r in await conn.fetch(
            f"SELECT c.id FROM calls c WHERE c.id <> $1 AND {where}", -1, *params)}
        by_python = {i for i, f in facts.items() if decide(rules, f, user, action)}
        if by_sql != by_python:
            out.append(f"{action}: sql {sorted(by_sql)} python {sorted(by_python)}; {where}")
    return out


async def test_the_sql_condition_and_the_pure_function_agree(db):
    loop = asyncio.get_running_loop()
    async with db.acquire() as conn:
        world = await _world(conn)
        rules_st, calls_st, who_st = _strategies(world)

        async def check(rules, calls, who):
            tx = conn.transaction()
            await tx.start()
            try:
                await _insert_calls(conn, calls)
                user = {"id": world["users"][who], "role": world["roles"][who]}
                return await _disagreements(conn, rules, user)
            finally:
                await tx.rollback()

        @hsettings(max_examples=60, derandomize=True, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))
        @given(rules=rules_st, calls=calls_st, who=who_st, defaults=st.booleans())
        def agree(rules, calls, who, defaults):
            # With the default rules among them (positions 10-90) the calls are often seen, so that
            # listening and editing are put to the test as well.
            rules = rules + list(DEFAULT_RULES) if defaults else rules
            problems = asyncio.run_coroutine_threadsafe(check(rules, calls, who), loop).result()
            assert not problems, problems

        await asyncio.to_thread(agree)
        # Not left to chance: the defaults, and each yes/no condition alone denying above them, on calls
        # of every kind with and without people (a NULL must read as "no", not as "unknown").
        await _insert_calls(conn, [{"direction": d, "ended": e, "line_id": None, "queue_id": None,
                                    "counterparty_id": cp, "operator_user_id": person, "caller_user_id": None,
                                    "owner_user_id": person, "legs": []}
                                   for d in DIRECTIONS for e in (True, False) for cp in [None, *world["cards"]]
                                   for person in (None, world["users"][1], world["users"][4])])
        single = [[Rule(action, DENY, position=1, **{name: value}), *DEFAULT_RULES]
                  for action in ACTIONS for name in TRISTATES for value in (True, False)]
        for who, role in enumerate(world["roles"]):
            for rules in [list(DEFAULT_RULES), *single]:
                assert not await _disagreements(conn, rules, {"id": world["users"][who], "role": role})


async def test_migration_0027_seeds_the_default_rules(db):
    async with db.acquire() as conn:
        await conn.execute("CREATE SCHEMA rules_seed; SET search_path = rules_seed, public")
        try:
            await migrate(conn)
            seeded = await rule_queries.load(conn)
        finally:
            await conn.execute("RESET search_path; DROP SCHEMA rules_seed CASCADE")
    assert [rule_queries.fields(r) for r in seeded] == [rule_queries.fields(r) for r in DEFAULT_RULES]
