"""Test fixtures: a fresh PostgreSQL database per test session, migrated.

DATABASE_URL names the server to create it on (make test sets it, starting
the project's private cluster when needed).
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
import uuid

import asyncpg
import pytest

from crm import passwords as _passwords
from crm.calls import rule_queries as call_rules_q
from crm.migrate import migrate
from crm.settings import Settings

# Tables whose rows tests create; emptied before each test that asks for `db`.
_DATA_TABLES = ("audit_log", "line_hours", "line_holidays", "lines", "collapsed_cards", "queue_members", "task_tags", "counterparty_tags", "tags", "task_participants", "tasks",
                "recordings", "calls", "contacts", "addresses", "company_members", "counterparties",
                "web_sessions", "login_failures", "app_settings", "users")
_DATA_TABLES += ("dial_rules",)  # issue 15's dial rules
_DATA_TABLES += ("ivr_options", "ivr_menus", "greetings")  # issue 15: greetings and IVR menus
_DATA_TABLES += ("cel_checkpoints",)  # issue 16's call records from CEL
_DATA_TABLES = ("voicemails", *_DATA_TABLES)  # issue 15's voicemails (they refer to calls and tasks)
_DATA_TABLES += ("call_legs", "transfer_requests")  # issue 15: transfers
_DATA_TABLES += ("second_factor_pending", "recovery_codes", "user_totp")  # issue 17: the second factor
_DATA_TABLES = ("agent_events", "agent_queue_logouts", "agent_states", *_DATA_TABLES)  # issue 18: agent presence
_DATA_TABLES = ("sms_webhook_bodies", "sms_status_history", "sms_parts", "sms_messages", "sms_numbers",
                "sms_gateways", "sms_opt_outs", *_DATA_TABLES)  # issue 21: SMS
_DATA_TABLES = ("sms_campaign_recipients", "sms_campaigns", *_DATA_TABLES)  # issue 21: SMS campaigns
# issue 22: scheduled calls, dial campaigns, the do-not-call list, customers and their orders
_DATA_TABLES = ("scheduled_calls", "dial_attempts", "dial_campaign_numbers", "dnc_numbers", "dial_campaign_agents",
                "dial_campaigns", "order_rows", "orders", "customers", *_DATA_TABLES)
# issue 23: e-mail (web chat adds its own tables here)
_DATA_TABLES = ("mail_attachments", "mail_message_cards", "mail_messages", "mail_cursors", "mailboxes", *_DATA_TABLES)
_DATA_TABLES = ("chat_messages", "chat_pages", "chat_conversations", "chat_visitors", "chat_sites",
                "chat_operator_streams", *_DATA_TABLES)  # issue 23: web chat
# issue 24: shop orders (they refer to cards, users and task types; calls and tasks refer to them)
_DATA_TABLES = ("shop_exchange_files", "shop_exchange_sessions", "shop_order_status_history", "shop_order_lines",
                "shop_orders", "shop_sources", *_DATA_TABLES)
_DATA_TABLES += ("call_stats_hourly", "call_stats_daily")  # issue 25: the call statistics' rollups
_DATA_TABLES += ("pbx_nodes", "phone_presence", "queue_turns")  # issue 26: the PBX nodes' shared state


# argon2 as the product runs it: about 0.3 s of both cores per hash, and creating a user and
# logging them in is two of them. The suite's own process hashes at the cheapest cost instead
# (cheap_password_hashes below); tests/test_password_hashing.py checks the product's cost with these.
PRODUCTION_HASHER = _passwords._hasher
PRODUCTION_DUMMY_HASH = _passwords.DUMMY_HASH


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """argon2id at its cheapest in this process (users made by tests, logins through TestClient).
    Processes the tests start (pbxcrm web, pbxcrm ari) keep the product's cost: they verify these
    hashes cheaply (the cost is in the hash) and upgrade one at a login, as production would."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_passwords, "_hasher", cheap)
        mp.setattr(_passwords, "DUMMY_HASH", cheap.hash("not-a-real-password"))
        yield


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.fail("DATABASE_URL is not set: run the tests with `make test`")
    return url


@pytest.fixture(scope="session")
async def database_url(server_url: str):
    name = f"pbxcrm_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def pool(database_url: str):
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=5)
    yield p
    await p.close()


# What emptying touches, read once per database: the data tables and every table that refers to them
# (TRUNCATE ... CASCADE used to reach those too), and the sequences they own.
_EMPTYING: dict[str, tuple[list[str], list[str]]] = {}

_REFERRING_TABLES = """
WITH RECURSIVE reached(oid) AS (
    SELECT oid FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace
                               AND relname = ANY($1::text[])
    UNION
    SELECT c.conrelid FROM pg_constraint c JOIN reached r ON c.confrelid = r.oid WHERE c.contype = 'f')
SELECT quote_ident(relname) FROM pg_class WHERE oid IN (SELECT oid FROM reached) AND relkind = 'r'"""

_OWNED_SEQUENCES = """
SELECT DISTINCT d.objid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_class t ON t.oid = d.refobjid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND t.relname = ANY($1::text[])"""


async def _emptying(conn) -> tuple[list[str], list[str]]:
    key = await conn.fetchval("SELECT current_setting('port') || '/' || current_database()")
    if key not in _EMPTYING:
        tables = [r[0] for r in await conn.fetch(_REFERRING_TABLES, list(_DATA_TABLES))]
        sequences = [r[0] for r in await conn.fetch(_OWNED_SEQUENCES, [t.strip('"') for t in tables])]
        _EMPTYING[key] = tables, sequences
    return _EMPTYING[key]


async def empty_database(pool) -> None:
    """Earlier tests' rows gone (also for module-scoped data: tests/site.py).

    As TRUNCATE ... RESTART IDENTITY CASCADE would, at a fraction of its cost: TRUNCATE makes new files
    for ~90 tables and their indexes (0.3-0.7 s a test on the CI machine, most of the suite's time in
    fixtures); most tables are empty, so only the tables holding rows are deleted from, with the foreign
    keys' and other triggers off for it (session_replication_role), and the used sequences restarted."""
    async with pool.acquire() as conn:
        tables, sequences = await _emptying(conn)
        holding = await conn.fetch(" UNION ALL ".join(f"(SELECT '{t}' FROM {t} LIMIT 1)" for t in tables))
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for (table,) in holding:
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute("""SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)
                                  FROM pg_sequences
                                  WHERE last_value IS NOT NULL
                                    AND format('%I.%I', schemaname, sequencename)::regclass::text = ANY($1)""",
                               sequences)
        await call_rules_q.restore_defaults(conn, None)  # issue 17: the call rules as migrated
        # Queues stay (the default one is part of the schema), as they were after migrating.
        await conn.execute("""DELETE FROM queues WHERE NOT is_default;
                              UPDATE queues SET strategy = 'ringall', ring_seconds = 15, max_wait_seconds = 120,
                                                moh_class = 'default', offer = 'both', deleted_at = NULL,
                                                wrapup_seconds = 0, call_script = ''  -- issue 20
                              WHERE is_default;
                              DELETE FROM pause_reasons WHERE code IS NULL;  -- issue 18: the admin's own
                              UPDATE pause_reasons SET name = '', deleted_at = NULL;
                              -- issue 20: the counterparty statuses as migrated
                              DELETE FROM counterparty_statuses
                              WHERE code NOT IN ('active', 'potential', 'inactive', 'archived');
                              UPDATE counterparty_statuses SET name = '', archived = false,
                                  position = array_position(ARRAY['active', 'potential', 'inactive', 'archived'],
                                                            code)""")
        # Task types as migrated (issue 20): the admin's own gone, the product's named, unarchived again
        # (a test archiving "Meeting" or renaming "Call back" leaves nothing to the next).
        await conn.execute("""DELETE FROM task_types WHERE code IS NULL;
                              UPDATE task_types SET name = 'reset ' || id;
                              UPDATE task_types SET archived = false, is_deal = code = 'deal', name = CASE code
                                  WHEN 'task' THEN 'Task' WHEN 'callback' THEN 'Call back'
                                  WHEN 'meeting' THEN 'Meeting' WHEN 'scheduled_call' THEN 'Scheduled call'
                                  WHEN 'deal' THEN 'Deal' END""")


@pytest.fixture
async def db(pool):
    """The test database, emptied of earlier tests' rows."""
    await empty_database(pool)
    return pool


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    env = dict(os.environ, DATABASE_URL=database_url)
    return Settings.from_env(env)


# The web UI. One name, one thing:
#   web_app     the Starlette app, built from `settings` (not started)
#   web         an in-process TestClient on web_app, started, not logged in (tests.helpers.login logs it in)
#   web_500     the same, but a server error answers the 500 page instead of raising in the test
#   web_server  a `pbxcrm web` process on a free port (for Chromium)
@pytest.fixture
def web_app(settings: Settings):
    from web.app import create_app

    return create_app(settings)


@pytest.fixture
def web(db, web_app):
    from starlette.testclient import TestClient

    with TestClient(web_app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def web_500(db, web_app):
    from starlette.testclient import TestClient

    with TestClient(web_app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
async def crm(db):
    """The routing CRM most call tests share: Ivanova (ext 102) manages client Sokolov Ivan,
    +7 495 123-45-67; Petrov (ext 103) answers the default queue (tests/helpers.py routing_crm)."""
    from tests.helpers import routing_crm

    return await routing_crm(db)


@pytest.fixture
async def web_server(db, database_url, tmp_path):
    from tests.browser import WebServerProcess

    server = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await server.start()
    yield server
    await server.close()


@pytest.fixture(scope="session")
async def chromium():
    from playwright.async_api import async_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium):
    context = await chromium.new_context()
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
async def start_stasis_app(database_url, tmp_path):
    """Start `pbxcrm ari` against the sandbox; stopped after the test."""
    from tests.telephony import StasisAppProcess, require_sandbox

    await require_sandbox()
    apps = []

    async def start(db_url: str | None = None, **env: str):
        app = StasisAppProcess(dict(os.environ, DATABASE_URL=db_url or database_url, **env),
                               tmp_path / f"ari-{len(apps)}.log")
        apps.append(app)
        await app.start()
        return app

    yield start
    for app in apps:
        app.stop()


@pytest.fixture(scope="session")
def cluster(server_url):
    """More than one PBX (issue 26): Kamailio in front of the Asterisk nodes of cluster/nodes, in the
    sandbox's root beside its own Asterisk, up for the session (scripts/cluster.sh, tests/cluster.py)."""
    from tests.cluster import cluster_session

    yield from cluster_session(server_url)


# Markers, so the fast part runs on its own (`pytest -m "unit or http"`). A test
# is marked by what it needs: the sandbox (any module that drives telephony),
# Chromium, or the web app (one of the fixtures above, or a module that builds
# its own TestClient); everything else is a unit test.
_WEB_FIXTURES = {"web", "web_500", "web_app", "web_server"}
_MODULE_KIND: dict[str, str | None] = {}


def _module_kind(path) -> str | None:
    key = str(path)
    if key not in _MODULE_KIND:
        text = path.read_text(encoding="utf-8")
        _MODULE_KIND[key] = ("telephony" if ("tests.telephony" in text or "start_stasis_app" in text or "sandbox.sh" in text)
                             else "http" if "TestClient" in text else None)
    return _MODULE_KIND[key]


def pytest_configure(config):
    for name, what in (("unit", "no server, no browser, no Asterisk"),
                       ("http", "the web app in-process or as a process"),
                       ("browser", "Chromium through Playwright"),
                       ("telephony", "the sandbox Asterisk (or the cluster's: scripts/cluster.sh) and sipp")):
        config.addinivalue_line("markers", f"{name}: {what}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        kind = _module_kind(item.path)
        names = set(getattr(item, "fixturenames", ()))
        if kind == "telephony" or names & {"start_stasis_app", "cluster"}:
            item.add_marker("telephony")
        elif names & {"page", "chromium"}:
            item.add_marker("browser")
        elif kind == "http" or names & _WEB_FIXTURES:
            item.add_marker("http")
        else:
            item.add_marker("unit")
    # The Asterisk modules that also drive Chromium hold the tightest timings (a pop or a wallboard
    # "within a second"): last in their worker's run, when the other worker (scripts/test.sh) is done and
    # the two cores are theirs. Whole modules move, in their order, so module fixtures stay as they were.
    late = {item.path for item in items if item.get_closest_marker("telephony")
            and set(getattr(item, "fixturenames", ())) & _BROWSER_FIXTURES}
    items.sort(key=lambda item: item.path in late)


_BROWSER_FIXTURES = {"page", "chromium", "phone_chromium", "web_server"}
# Modules whose tests the xdist scheduler spreads one by one rather than as a whole.
_SPREAD_MODULES = {"tests/test_fuzz_routes.py"}


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown to a run without it
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (scripts/test.sh: -n 2): the modules that drive the one sandbox Asterisk are one
    unit of work, run in order by one worker; every other module is a unit of its own, spread over both.
    (xdist's own loadgroup cannot do it under pytest 9: it renames items' nodeid, which pytest 9 ignores.)"""
    from pathlib import Path

    from xdist.scheduler import LoadScopeScheduling

    class AsteriskApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module in _SPREAD_MODULES:
                return nodeid  # long tests with nothing shared between them: each goes where there is room
            return "asterisk" if _module_kind(Path(config.rootpath, module)) == "telephony" else module

    return AsteriskApart(config, log)


# Every process a test run starts inherits this mark (set before the first test), so the run can tell
# its own leftovers from other runs' and other programs' processes on the same machine.
TEST_RUN_MARK = "PBXCRM_TEST_RUN"


def _marked_processes(mark: str) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes started by the test run with this mark, but the
    sandbox's Asterisk (scripts/sandbox.sh starts it unmarked; a test may have restarted it)."""
    found = []
    needle = f"{TEST_RUN_MARK}={mark}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if cmdline and not os.path.basename(cmdline.split()[0]).startswith("asterisk"):
            found.append((int(entry.name), cmdline))  # a zombie has no command line: already dead
    return found


def pytest_sessionstart(session):
    os.environ[TEST_RUN_MARK] = uuid.uuid4().hex


def _is_xdist_controller(config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_sessionfinish(session, exitstatus):
    """A test run leaves nothing running: fail the run when a process it started (pbxcrm, sipp,
    Chromium, anything) outlived it, and end those processes."""
    import signal
    import time

    mark = os.environ.get(TEST_RUN_MARK)
    if not mark or _is_xdist_controller(session.config):
        return  # under xdist each worker checks what it started; the controller starts nothing
    deadline = time.monotonic() + 5  # a process stopped at the last moment may still be exiting
    while (left := _marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        print("\nprocesses left running by the tests (now killed):\n  "
              + "\n  ".join(f"{pid}: {cmdline}" for pid, cmdline in left))
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
