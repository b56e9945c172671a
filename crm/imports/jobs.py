"""Running an import job: read safely, check every row, then apply all valid rows
(each on its own) or, in all-or-nothing mode, everything in one transaction or nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from types import ModuleType

import asyncpg

from crm import audit
from crm.errors import DomainError
from crm.i18n import _, ngettext
from crm.imports import call_lists, counterparties, tasks
from crm.imports.common import reason
from crm.imports.reader import RefusedFile, read_rows

log = logging.getLogger(__name__)

KINDS: dict[str, ModuleType | tasks.TaskImport] = {
    "counterparties": counterparties, "call_list": call_lists, "tasks": tasks.TASKS, "deals": tasks.DEALS}


async def create(conn: asyncpg.Connection, user_id: int, kind: str, mode: str, filename: str) -> int:
    if kind not in KINDS or mode not in ("valid", "all_or_nothing"):
        raise DomainError(_("unknown import kind or mode"))
    async with conn.transaction():
        job_id = await conn.fetchval(
            "INSERT INTO import_jobs (user_id, kind, mode, filename) VALUES ($1, $2, $3, $4) RETURNING id",
            user_id, kind, mode, filename[:200])
        # Each row it applies is audited as its own change (crm/counterparties/service.py, crm/tasks/service.py).
        await audit.record(conn, user_id, "import", job_id, "start",
                           audit.created({"kind": kind, "mode": mode, "filename": filename[:200]}))
    return job_id


async def _set(pool: asyncpg.Pool, job_id: int, **fields) -> None:
    if "rejected" in fields:
        fields["rejected"] = json.dumps([{"row": r, "reason": why} for r, why in fields["rejected"]])
    assignments = ", ".join(f"{k} = ${i}" + ("::jsonb" if k == "rejected" else "")
                            for i, k in enumerate(fields, start=2))
    final = ", finished_at = now()" if fields.get("status") in ("done", "refused", "failed") else ""
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE import_jobs SET {assignments}{final} WHERE id = $1", job_id, *fields.values())


async def run(pool: asyncpg.Pool, job_id: int, path: Path, user, region: str) -> None:
    try:
        await _run(pool, job_id, path, user, region)
    except Exception:
        log.exception("import %d failed", job_id)
        await _set(pool, job_id, status="failed", message=_("the import failed on our side; it has been logged"))
    finally:
        path.unlink(missing_ok=True)


async def _run(pool: asyncpg.Pool, job_id: int, path: Path, user, region: str) -> None:
    async with pool.acquire() as conn:
        job = await conn.fetchrow("SELECT kind, mode FROM import_jobs WHERE id = $1", job_id)
    try:
        header, rows = await asyncio.to_thread(read_rows, path)
    except RefusedFile as e:
        await _set(pool, job_id, status="refused", message=str(e))
        return
    await _set(pool, job_id, total=len(rows))

    async def progress(**fields):
        await _set(pool, job_id, **fields)

    module = KINDS[job["kind"]]
    async with pool.acquire() as conn:
        extra = {"importer_id": user["id"]} if job["kind"] == "call_list" else {"importer": user}
        valid, rejected = await module.check(conn, header, rows, region, progress, **extra)
        await _set(pool, job_id, checked=len(rows), rejected=rejected, status="applying")
        if job["mode"] == "all_or_nothing" and rejected:
            refused = ngettext("nothing imported: %(num)d row has problems",
                               "nothing imported: %(num)d rows have problems", len(rejected)) % {"num": len(rejected)}
            await _set(pool, job_id, status="done", message=refused)
            return
        applied = 0
        if job["mode"] == "all_or_nothing":
            async with conn.transaction():
                for _number, row in valid:
                    await module.apply(conn, user, row, region)
                    applied += 1
        else:
            for number, row in valid:
                try:
                    await module.apply(conn, user, row, region)
                    applied += 1
                except DomainError as e:  # e.g. someone took the number meanwhile
                    rejected.append((number, reason(e)))
                if applied % 100 == 0:
                    await _set(pool, job_id, applied=applied)
    await _set(pool, job_id, status="done", applied=applied, rejected=sorted(rejected),
               message=_summary(applied, len(rejected)))


def _summary(applied: int, rejected: int) -> str:
    """"990 imported, 10 rejected", in the language of whoever started the import."""
    return ", ".join((ngettext("%(num)d imported", "%(num)d imported", applied) % {"num": applied},
                      ngettext("%(num)d rejected", "%(num)d rejected", rejected) % {"num": rejected}))
