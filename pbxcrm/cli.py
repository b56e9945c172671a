"""`pbxcrm COMMAND`: migrate, web, ari, agi, sms, mail, reconcile, create-user, set-password, allowlist, demo-data,
demo-history, demo-calls, demo-call (pbxcrm/demo.py), retention (pbxcrm/retention.py), doctor, sandbox."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

from crm.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("pbxcrm")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


async def _migrate(settings: Settings) -> list[str]:
    import asyncpg

    from crm.migrate import migrate
    from crm.reports import call_rollup

    conn = await asyncpg.connect(settings.database_url, timeout=10)
    try:
        applied = await migrate(conn)
        # The call statistics' days are the call centre's (issue 25): recounted when PBXCRM_TIMEZONE changed.
        if await call_rollup.set_zone(conn, settings.timezone):
            print(f"call statistics: the days recounted in {settings.timezone}")
        return applied
    finally:
        await conn.close()


def cmd_migrate(args, settings: Settings) -> int:
    applied = asyncio.run(_migrate(settings))
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


def cmd_web(args, settings: Settings) -> int:
    import uvicorn

    # An open screen-pop stream (GET /events) never ends by itself: a stop waits 5 s for requests, not for it.
    uvicorn.run("web.app:app_from_env", factory=True, host=args.host or settings.web_host,
                port=args.port or settings.web_port, workers=args.workers, log_level="info",
                proxy_headers=False, timeout_graceful_shutdown=5,
                # The web chat's visitor frames are small (crm/webchat/rules.py MAX_FRAME_BYTES): a bigger one
                # is not read into memory first (uvicorn's default is 16 MiB).
                ws_max_size=64 * 1024)
    return 0


def cmd_ari(args, settings: Settings) -> int:
    from ari_app.app import run

    asyncio.run(run(settings))
    return 0


def cmd_agi(args, settings: Settings) -> int:
    from agi.server import serve
    from pbxcrm.runtime import crm_runtime, stop_on_signals

    async def run():
        stop = stop_on_signals()
        async with crm_runtime(settings) as runtime:
            await serve(runtime.crm, settings.default_region, args.host, args.port, stop)

    asyncio.run(run())
    return 0


def cmd_sms(args, settings: Settings) -> int:
    from pbxcrm.runtime import stop_on_signals
    from smsd.worker import run

    async def main():
        await run(settings, stop_on_signals(exit_after=8))

    asyncio.run(main())
    return 0


def cmd_mail(args, settings: Settings) -> int:
    from maild.service import run
    from pbxcrm.runtime import stop_on_signals

    async def main():
        await run(settings, stop_on_signals(exit_after=8))

    asyncio.run(main())
    return 0


def cmd_reconcile(args, settings: Settings) -> int:
    """Call log rows from Asterisk's CEL, once, up to the end of the table as it is now."""
    import datetime as dt
    import time

    from crm.cel.queries import CelUnavailable
    from crm.cel.reconciler import Reconciler, parse_since
    from crm.db import create_pool

    since = None
    if args.since:
        try:
            since = parse_since(args.since, dt.datetime.now(dt.timezone.utc), settings.timezone)
        except ValueError:
            print(f"pbxcrm: --since {args.since!r}: give 30m, 2h, 7d, now, or a date (2026-03-01) "
                  "or date and time (2026-03-01T09:00)", file=sys.stderr)
            return 2
    if not settings.cel_table:
        print("pbxcrm: PBXCRM_CEL_TABLE is empty: call records from CEL are off", file=sys.stderr)
        return 2

    async def run():
        pool = await create_pool(settings.database_url, min_size=1, max_size=2)
        reconciler = Reconciler.from_settings(pool, settings, batch_rows=args.batch_rows)
        try:
            upto = await reconciler.max_id()
            # The app writes the end of its own calls first (crm/cel/reconciler.py).
            await asyncio.sleep(args.grace)
            started = time.monotonic()
            stats = await reconciler.catch_up(upto=upto, since=since)
            return reconciler.source, stats, time.monotonic() - started
        finally:
            await reconciler.close()
            await pool.close()

    try:
        source, stats, seconds = asyncio.run(run())
    except CelUnavailable as e:
        print(f"pbxcrm: cannot read CEL: {e}", file=sys.stderr)
        return 1
    rate = f", {stats.rows / seconds:.0f} rows/s" if stats.rows and seconds > 0 else ""
    print(f"CEL {source} read up to id {stats.last_id}: {stats} ({seconds:.1f} s{rate})")
    return 0


def cmd_create_user(args, settings: Settings) -> int:
    import asyncpg

    from crm.users.accounts import AccountError, NewUser, create_user

    password = args.password or os.environ.get("PBXCRM_NEW_PASSWORD")
    generated = False
    if not password:
        if sys.stdin.isatty():
            password = getpass.getpass(f"password for {args.login}: ")
        else:
            password, generated = secrets.token_urlsafe(12), True

    async def create():
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            return await create_user(conn, NewUser(login=args.login, full_name=args.name, password=password,
                                                   role=args.role, extension=args.extension,
                                                   email=args.email))
        finally:
            await conn.close()

    try:
        user = asyncio.run(create())
    except AccountError as e:
        print(f"pbxcrm: {e}", file=sys.stderr)
        return 1
    print(f"created user {user['login']} (id {user['id']}, role {user['role']})"
          + (f", password {password}" if generated else ""))
    return 0


def cmd_set_password(args, settings: Settings) -> int:
    import asyncpg

    from crm.users.accounts import AccountError, set_password

    password = args.password or getpass.getpass(f"new password for {args.login}: ")

    async def update():
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            return await set_password(conn, args.login, password)
        finally:
            await conn.close()

    try:
        ended = asyncio.run(update())
    except AccountError as e:
        print(f"pbxcrm: {e}", file=sys.stderr)
        return 1
    # Like an admin's reset in the web UI, this logs the user out everywhere.
    print(f"password changed for {args.login}; {ended} session(s) ended")
    return 0


def cmd_allowlist(args, settings: Settings) -> int:
    """Break-glass for the IP allow-lists (README, "Locked out by an allow-list"): run on the server."""
    import asyncpg

    from crm.allowlist import queries as allow_q
    from crm.allowlist import service
    from crm.errors import DomainError

    async def run() -> str:
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            if args.action == "open":
                user = await service.open_for(conn, args.user)
                return (f"{user['login']} may log in from anywhere now (own list: 0.0.0.0/0, ::/0); "
                        "put the lists right in the web UI, then remove these two entries")
            if args.action == "clear":
                removed = await service.clear(conn, role=args.role, login=args.user)
                return f"removed {removed} entr{'y' if removed == 1 else 'ies'} of " + (
                    f"{args.user}'s own list" if args.user else f"role {args.role}'s list")
            rows = await allow_q.list_entries(conn)
            return "\n".join(f"{r['login'] or 'role ' + r['role']}\t{r['network']}\t{r['note']}" for r in rows) \
                or "no entries: everyone may log in from anywhere"
        finally:
            await conn.close()

    if args.action in ("open", "clear") and not (args.user or (args.action == "clear" and args.role)):
        print(f"pbxcrm: allowlist {args.action}: give --user LOGIN" + (" or --role ROLE" if args.action == "clear"
                                                                         else ""), file=sys.stderr)
        return 2
    try:
        print(asyncio.run(run()))
    except DomainError as e:
        print(f"pbxcrm: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_demo_data(args, settings: Settings) -> int:
    import time

    import asyncpg

    from crm.demo_data import seed

    async def run():
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            return await seed(conn, args.clients)
        finally:
            await conn.close()

    started = time.monotonic()
    result = asyncio.run(run())
    print(f"seeded {result.clients} clients, {result.companies} companies, {result.phones} phone numbers "
          f"in {time.monotonic() - started:.1f} s")
    for login, password in result.created_managers.items():
        print(f"  manager {login}, password {password}")
    return 0


def cmd_doctor(args, settings: Settings) -> int:
    from pbxcrm.doctor import run

    return asyncio.run(run(settings, dialplan_dir=args.dialplan, as_json=args.json))


def cmd_sandbox(args, settings: Settings | None) -> int:
    return subprocess.call([str(REPO / "scripts" / "sandbox.sh"), args.action, *args.rest])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pbxcrm", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    web = sub.add_parser("web", help="serve the web UI")
    web.add_argument("--host")
    web.add_argument("--port", type=int)
    web.add_argument("--workers", type=int, default=1)
    web.set_defaults(func=cmd_web)

    sub.add_parser("ari", help="run the Stasis ARI application").set_defaults(func=cmd_ari)

    agi = sub.add_parser("agi", help="run the FastAGI lookup server")
    agi.add_argument("--host", default="127.0.0.1")
    agi.add_argument("--port", type=int, default=4573)
    agi.set_defaults(func=cmd_agi)

    sub.add_parser("sms", help="send queued SMS through the gateways, take receipts and incoming SMS"
                   ).set_defaults(func=cmd_sms)

    sub.add_parser("mail", help="read the IMAP mailboxes and file each message on the cards of its addresses"
                   ).set_defaults(func=cmd_mail)

    rec = sub.add_parser("reconcile", help="log the calls the Stasis app did not, from Asterisk's CEL")
    rec.add_argument("--since", help="from events at or after this: 30m, 2h, 7d, now, a date or date and time "
                                     "(default: where the last run stopped)")
    rec.add_argument("--grace", type=float, default=5.0,
                     help="seconds to wait first, so the app writes the calls it handled (default 5)")
    rec.add_argument("--batch-rows", type=int, default=5000, help="CEL rows per transaction (default 5000)")
    rec.set_defaults(func=cmd_reconcile)

    user = sub.add_parser("create-user", help="create a CRM user")
    user.add_argument("--login", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--role", required=True, choices=["operator", "manager", "supervisor", "admin"])
    user.add_argument("--extension")
    user.add_argument("--email")
    user.add_argument("--password", help="default: asked on a terminal, else generated and printed")
    user.set_defaults(func=cmd_create_user)

    pw = sub.add_parser("set-password", help="change a user's password")
    pw.add_argument("--login", required=True)
    pw.add_argument("--password", help="default: asked on the terminal")
    pw.set_defaults(func=cmd_set_password)

    allow = sub.add_parser("allowlist", help="IP allow-lists from the server: show, or break-glass "
                                              "(open a user's list to anywhere, clear a list)")
    allow.add_argument("action", choices=["show", "open", "clear"])
    allow.add_argument("--user", help="the user's login (open, clear)")
    allow.add_argument("--role", choices=["operator", "manager", "supervisor", "admin"], help="the role (clear)")
    allow.set_defaults(func=cmd_allowlist)

    demo = sub.add_parser("demo-data", help="fill the database with realistic demo counterparties")
    demo.add_argument("--clients", type=int, default=1000)
    demo.set_defaults(func=cmd_demo_data)
    from pbxcrm.demo import add_commands as add_demo_commands

    add_demo_commands(sub)
    from pbxcrm.retention import add_command as add_retention_command

    add_retention_command(sub)  # issue 25

    from pbxcrm.doctor import DIALPLAN_DIR

    doctor = sub.add_parser("doctor", help="check Asterisk and the CRM against each other; exit 1 on a problem")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.add_argument("--dialplan", type=Path, default=DIALPLAN_DIR,
                        help=f"the folder of our dialplan files Asterisk includes (default {DIALPLAN_DIR})")
    doctor.set_defaults(func=cmd_doctor)

    sandbox = sub.add_parser("sandbox", help="the Asterisk sandbox (root only)")
    sandbox.add_argument("action", choices=["build", "up", "down", "status", "cli", "cel-url"])
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    sandbox.set_defaults(func=cmd_sandbox, needs_settings=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    settings = None
    if getattr(args, "needs_settings", True):
        try:
            settings = Settings.from_env()
        except SettingsError as e:
            print(f"pbxcrm: {e}", file=sys.stderr)
            return 2
    from crm.db import DATABASE_UNAVAILABLE

    try:
        return args.func(args, settings)
    except DATABASE_UNAVAILABLE as e:
        where = settings.database_url.rsplit("@", 1)[-1] if settings else "?"
        print(f"pbxcrm: cannot reach the database at {where}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
