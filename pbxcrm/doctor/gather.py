"""The doctor's I/O: what Asterisk (through ARI), the database and this host say.

Everything is asked of ARI, so the doctor works the same on the Asterisk host and from
another machine, and needs no shell on the PBX and no AMI account:

- ARI itself: GET /asterisk/info; a refused connection, a timeout, 401 (credentials)
  and 404 (HTTP server without ARI) are told apart.
- Modules: GET /asterisk/modules (those with status Running).
- Dialplan contexts. ARI cannot list the dialplan, and `dialplan show` needs the CLI
  (local only) or AMI (another account to configure). Instead the doctor asks for the
  device state of a Local channel, GET /deviceStates/Local%2F<exten>@<context>: Asterisk
  answers INVALID when no extension matches in that context (its includes count, as in a
  real call), NOT_INUSE otherwise. Nothing is dialled and no channel is made. <exten> is
  an extension the context defines in dialplan/*.conf (a pattern's first match), so a
  context that is loaded but lost that extension reads as missing too. The same asks
  whether a user's `Local/101@phones` dial string leads anywhere.
- Endpoints: GET /endpoints/{tech}/{resource}, 404 when it does not exist; the trunk's
  context from GET /asterisk/config/dynamic/res_pjsip/endpoint/{trunk} (sorcery).
- The app: GET /applications lists the Stasis apps Asterisk knows. Asterisk keeps an app
  listed while channels sit in it even after its websocket closed, so this says "connected"
  a little too readily; it never misses a connected app.
- The clock: GET /asterisk/variable?variable=EPOCH, Asterisk's time in whole seconds,
  between two readings of this host's clock (ARI's /asterisk/info has start and reload
  times, not the time now).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import pwd
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import aiohttp
import asyncpg

from ari_app.client import AriClient, AriError, AriNotFound, AriUnavailable
from crm import appsettings
from crm.migrate import load_migrations
from crm.settings import Settings
from pbxcrm.doctor import dialplan, queries
from pbxcrm.doctor.checks import target_of
from pbxcrm.doctor.facts import (
    AriOutcome,
    AriProbe,
    AsteriskFacts,
    CelFacts,
    ClockReading,
    CrmFacts,
    DbOutcome,
    DbProbe,
    Endpoint,
    Facts,
    RecordingsFolder,
)
from pbxcrm.doctor.requirements import module_name

log = logging.getLogger(__name__)

ARI_TIMEOUT = 3.0
DB_TIMEOUT = 5.0
_PARALLEL = 8  # ARI requests at once: many users' phones, without flooding the PBX

T = TypeVar("T")


async def gather(settings: Settings, dialplan_dir: Path) -> Facts:
    plan = dialplan.read(dialplan_dir)
    crm = await gather_crm(settings)
    asterisk = await gather_asterisk(settings, plan, crm)
    return Facts(app_name=settings.ari_app, trunk=settings.trunk, dialplan=plan, dialplan_dir=dialplan_dir,
                 asterisk=asterisk, crm=crm, recordings=probe_recordings(settings.recordings_dir))


# ---- the database ----

def database_where(url: str) -> str:
    """host:port/database of a DATABASE_URL, without user or password."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


def _db_outcome(error: BaseException) -> DbOutcome:
    if isinstance(error, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
        return DbOutcome.AUTH
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return DbOutcome.NO_DATABASE
    if isinstance(error, TimeoutError):
        return DbOutcome.TIMEOUT
    if refused(error):
        return DbOutcome.REFUSED
    return DbOutcome.ERROR


def refused(error: BaseException | None) -> bool:
    """Connection refused, also when each of a name's addresses refused (OSError "Multiple exceptions")."""
    return isinstance(error, ConnectionRefusedError) or (
        isinstance(error, OSError) and f"[Errno {errno.ECONNREFUSED}]" in str(error))


async def gather_crm(settings: Settings) -> CrmFacts:
    where = database_where(settings.database_url)
    known = tuple(m.version for m in load_migrations())
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=DB_TIMEOUT)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        return CrmFacts(DbProbe(where, _db_outcome(e), str(e) or type(e).__name__), known=known)
    try:
        facts = CrmFacts(DbProbe(where, DbOutcome.OK), applied=await queries.applied_migrations(conn), known=known)
        try:
            facts.phones = await queries.user_phones(conn)
            facts.trunk_users = await queries.trunks_in_use(conn)
            facts.cel = await _cel(settings, conn)
            facts.language = await appsettings.centre_language(conn)
        except asyncpg.PostgresError:
            facts.phones = None  # a schema this code does not know: the database check says why
        return facts
    finally:
        await conn.close()


async def _cel(settings: Settings, conn: asyncpg.Connection) -> CelFacts | None:
    """CEL as the reconciler reads it (crm/cel/): PBXCRM_CEL_DATABASE_URL's table, else the CRM's."""
    if not settings.cel_table:
        return None
    if not settings.cel_database_url or settings.cel_database_url == settings.database_url:
        return await queries.cel(conn, conn, settings.cel_table)
    try:
        cel_conn = await asyncpg.connect(settings.cel_database_url, timeout=DB_TIMEOUT)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        log.warning("CEL database does not answer: %s", e)
        return None
    try:
        return await queries.cel(conn, cel_conn, settings.cel_table)
    finally:
        await cel_conn.close()


# ---- Asterisk ----

async def probe_ari(ari: AriClient, url: str) -> tuple[AriProbe, dict | None]:
    try:
        info = await ari.request("GET", "/asterisk/info")
    except AriUnavailable as e:
        cause = e.__cause__
        if isinstance(cause, (asyncio.TimeoutError, TimeoutError)):
            return AriProbe(url, AriOutcome.TIMEOUT), None
        if isinstance(cause, aiohttp.ClientConnectorError):
            detail = "" if refused(cause.os_error) else str(cause.os_error)
            return AriProbe(url, AriOutcome.REFUSED, detail=detail), None
        return AriProbe(url, AriOutcome.ERROR, detail=str(e)), None
    except AriError as e:
        outcome = {401: AriOutcome.UNAUTHORIZED, 404: AriOutcome.NO_ARI}.get(e.status or 0, AriOutcome.ERROR)
        return AriProbe(url, outcome, detail=f"{e.status} {e.message}".strip()), None
    version = (info or {}).get("system", {}).get("version", "") if isinstance(info, dict) else ""
    return AriProbe(url, AriOutcome.OK, version=version), info


async def gather_asterisk(settings: Settings, plan: dialplan.Dialplan, crm: CrmFacts) -> AsteriskFacts:
    async with AriClient(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app,
                         request_timeout=ARI_TIMEOUT) as ari:
        probe, _info = await probe_ari(ari, settings.ari_url)
        facts = AsteriskFacts(probe)
        if probe.outcome != AriOutcome.OK:
            return facts
        try:
            await _ask_asterisk(ari, facts, settings, plan, crm)
        except AriError as e:
            return AsteriskFacts(AriProbe(settings.ari_url, AriOutcome.ERROR, detail=str(e)))
        return facts


async def _ask_asterisk(ari: AriClient, facts: AsteriskFacts, settings: Settings, plan: dialplan.Dialplan,
                        crm: CrmFacts) -> None:
    limit = asyncio.Semaphore(_PARALLEL)

    async def limited(coro: Awaitable[T]) -> T:
        async with limit:
            return await coro

    async def local_exists(target: str) -> bool:
        answer = await ari.request("GET", "/deviceStates/" + urllib.parse.quote(f"Local/{target}", safe="@"))
        return answer.get("state") != "INVALID"

    async def endpoint(name: str) -> Endpoint:
        technology, _, resource = name.partition("/")
        try:
            answer = await ari.request("GET", f"/endpoints/{_quote(technology)}/{_quote(resource)}")
        except AriNotFound:
            return Endpoint(technology, resource, None)
        return Endpoint(technology, resource, answer.get("state") or "unknown")

    probes = {name: plan.probe(name) for name in plan.contexts}
    targets = [target_of(p.dial) for p in crm.phones or ()]
    endpoints = sorted({f"PJSIP/{settings.trunk}", *(f"PJSIP/{t}" for t in crm.trunk_users),
                        *(name for kind, name in filter(None, targets) if kind == "endpoint")})
    locals_ = sorted({name for kind, name in filter(None, targets) if kind == "local"})

    modules, apps, trunk_global, trunk_context, clock = await asyncio.gather(
        limited(ari.request("GET", "/asterisk/modules")), limited(ari.request("GET", "/applications")),
        limited(_global(ari, "PBXCRM_TRUNK")), limited(_endpoint_context(ari, settings.trunk)),
        limited(_clock(ari)))
    contexts = await asyncio.gather(*(limited(local_exists(f"{probe}@{name}")) for name, probe in probes.items()
                                      if probe is not None))
    found = await asyncio.gather(*(limited(endpoint(name)) for name in endpoints))
    local_found = await asyncio.gather(*(limited(local_exists(name)) for name in locals_))

    facts.modules = frozenset(module_name(m["name"]) for m in modules if m.get("status") == "Running")
    facts.apps = frozenset(a["name"] for a in apps)
    answers = iter(contexts)
    facts.contexts = {name: (next(answers) if probe is not None else None) for name, probe in probes.items()}
    facts.endpoints = {e.name: e for e in found}
    facts.local_targets = dict(zip(locals_, local_found))
    facts.trunk_global, facts.trunk_context, facts.clock = trunk_global, trunk_context, clock


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


async def _global(ari: AriClient, name: str) -> str | None:
    answer = await ari.request("GET", "/asterisk/variable", params={"variable": name})
    return (answer or {}).get("value") or None


async def _endpoint_context(ari: AriClient, endpoint: str) -> str | None:
    """The PJSIP endpoint's context from its sorcery object; None when Asterisk does not say."""
    try:
        fields = await ari.request("GET", f"/asterisk/config/dynamic/res_pjsip/endpoint/{_quote(endpoint)}")
    except AriError:
        return None
    return next((f.get("value") for f in fields or () if f.get("attribute") == "context"), None) or None


async def _clock(ari: AriClient) -> ClockReading | None:
    before = time.time()
    value = await _global(ari, "EPOCH")
    after = time.time()
    return ClockReading(int(value), before, after) if value and value.isdigit() else None


# ---- this host ----

def probe_recordings(path: Path) -> RecordingsFolder:
    """Whether this process can write a file into the folder (or create it, when it is missing)."""
    user = pwd.getpwuid(os.geteuid()).pw_name
    absolute = path.is_absolute()
    if path.exists():
        if not path.is_dir():
            return RecordingsFolder(path, absolute, True, False, user, "not_folder")
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".pbxcrm-doctor-"):
                pass
        except OSError as e:
            return RecordingsFolder(path, absolute, True, False, user, "not_writable", e.strerror or str(e))
        return RecordingsFolder(path, absolute, True, True, user)
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    can_create = ancestor.is_dir() and os.access(ancestor, os.W_OK | os.X_OK)
    if can_create:
        return RecordingsFolder(path, absolute, False, True, user)
    return RecordingsFolder(path, absolute, False, False, user, "cannot_create", str(ancestor))
