"""One retention run: recordings older than their period, then call rows older than theirs, in small batches.

Each batch is one short transaction (crm/retention/queries.py: lock_timeout, SKIP LOCKED), then a pause twice
as long as the batch took (PAUSE_RATIO, at least PAUSE_MIN), so the call log's live writes get the database at
least two thirds of the time. Archived lines are on disk before their rows' delete commits; audio files are
moved or removed only after it commits (a crash in between leaves a file where it was, never a row without its
file). One run at a time (an advisory lock); what a run removed goes into the audit log as one entry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from crm.retention import archive
from crm.retention import queries as q
from crm.retention.policy import RetentionPolicy, months_before, unhandled_references

log = logging.getLogger(__name__)

BATCH = 1000
PAUSE_MIN = 0.01
# The pause after a batch, as a multiple of the batch's time: the job takes at most a third of one core.
PAUSE_RATIO = 2.0
LOCK_RETRIES = 5


@dataclass
class Report:
    dry_run: bool = False
    status: str = "done"  # done, off (nothing to keep for a period), busy (another run holds the lock), stopped
    recordings_cutoff: dt.datetime | None = None
    calls_cutoff: dt.datetime | None = None
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_call_id: int | None = None
    last_call_id: int | None = None
    archive_files: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    batches: int = 0

    @property
    def removed_anything(self) -> bool:
        return bool(self.counts.get("recordings") or self.counts.get("calls"))

    def audit_changes(self, policy: RetentionPolicy) -> dict:
        changes: dict = {k: v for k, v in sorted(self.counts.items()) if v}
        if self.recordings_cutoff:
            changes.update(recordings_before=self.recordings_cutoff.isoformat(),
                           recordings_action=policy.recordings_action)
        if self.calls_cutoff:
            changes.update(calls_before=self.calls_cutoff.isoformat(), calls_action=policy.calls_action)
        if self.first_call_id is not None:
            changes["call_ids"] = f"{self.first_call_id}-{self.last_call_id}"
        if self.archive_files:
            changes["archive_files"] = sorted(self.archive_files)
        if self.problems:
            changes["problems"] = self.problems
        return changes


@dataclass(frozen=True)
class Where:
    recordings_dir: Path
    archive_dir: Path


async def run(conn: asyncpg.Connection, policy: RetentionPolicy, now: dt.datetime, where: Where, *,
              dry_run: bool = False, batch: int = BATCH, pause_ratio: float = PAUSE_RATIO) -> Report:
    report = Report(dry_run=dry_run)
    if not policy.active:
        report.status = "off"
        return report
    if policy.recordings_months is not None:
        report.recordings_cutoff = months_before(now, policy.recordings_months)
    if policy.calls_months is not None:
        report.calls_cutoff = months_before(now, policy.calls_months)
    if dry_run:
        report.counts.update(await q.due_counts(conn, report.recordings_cutoff, report.calls_cutoff))
        return report
    if not await q.try_lock(conn):
        report.status = "busy"
        return report
    step = _Steps(conn, policy, where, report, batch, pause_ratio)
    try:
        if report.recordings_cutoff is not None:
            await step.recordings(report.recordings_cutoff)
        if report.calls_cutoff is not None:
            await step.calls(report.calls_cutoff)
    finally:
        try:
            if report.removed_anything or report.problems:
                await q.record_run(conn, report.audit_changes(policy))
        finally:
            await q.unlock(conn)
    log.info("retention: %s", dict(report.counts) or "nothing was due")
    return report


class _Steps:
    def __init__(self, conn: asyncpg.Connection, policy: RetentionPolicy, where: Where, report: Report,
                 batch: int, pause_ratio: float):
        self.conn, self.policy, self.where, self.report = conn, policy, where, report
        self.batch, self.pause_ratio = batch, pause_ratio

    async def _batch(self, work, *args) -> tuple | None:
        """work(*args) in one transaction under the batch's lock timeout; a lock it could not get is tried again
        after a pause, LOCK_RETRIES times, then the run stops (the next run goes on from the start)."""
        for attempt in range(LOCK_RETRIES):
            started = time.monotonic()
            try:
                async with self.conn.transaction():
                    await q.begin_batch(self.conn)
                    result = await work(*args)
            except asyncpg.LockNotAvailableError:
                log.info("retention: a lock was busy (attempt %d), pausing", attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            self.report.batches += 1
            await asyncio.sleep(max(PAUSE_MIN, (time.monotonic() - started) * self.pause_ratio))
            return result
        self.report.status = "stopped"
        self.report.problems.append("stopped: rows stayed locked by other work; the next run goes on")
        return None

    def _file_job(self, path: str | None, started_at: dt.datetime) -> archive.FileJob | None:
        if not path:
            return None
        if self.policy.recordings_action == "archive":
            target = archive.archived_path(Path(path), self.where.recordings_dir, self.where.archive_dir, started_at)
            return archive.FileJob(Path(path), target)
        return archive.FileJob(Path(path), None)

    async def _files(self, jobs: list[archive.FileJob]) -> None:
        done = await asyncio.to_thread(archive.apply, jobs)
        for key, n in done.items():
            self.report.counts[f"files_{key}"] += n
        if done["failed"]:
            self.report.problems.append(f"{done['failed']} file(s) could not be moved or removed (see the log)")

    async def recordings(self, cutoff: dt.datetime) -> None:
        bound = await q.call_id_bound(self.conn, cutoff)
        after = (0, 0)
        while self.report.status != "stopped":
            done = await self._batch(self._recordings_batch, cutoff, bound, after)
            if not done:
                return
            rows, jobs = done
            self.report.counts["recordings"] += len(rows)
            await self._files(jobs)  # after the commit
            after = (rows[-1]["call_id"], rows[-1]["id"])

    async def _recordings_batch(self, cutoff: dt.datetime, bound: int, after: tuple[int, int]) -> tuple | None:
        rows = await q.recordings_batch(self.conn, cutoff, bound, after, self.batch)
        if not rows:
            return None
        jobs = [j for r in rows if (j := self._file_job(r["path"], r["started_at"]))]
        if self.policy.recordings_action == "archive":
            await self._manifest(rows, jobs)
        await q.delete_recordings(self.conn, [r["id"] for r in rows])
        return rows, jobs

    async def _manifest(self, rows: list, jobs: list[archive.FileJob]) -> None:
        target = {str(j.path): str(j.target) for j in jobs}
        lines: dict[Path, list[str]] = defaultdict(list)
        for r in rows:
            f = archive.month_file(self.where.archive_dir, "recordings", r["started_at"])
            lines[f].append(json.dumps({
                "recording_id": r["id"], "call_id": r["call_id"], "started_at": r["started_at"].isoformat(),
                "direction": r["direction"], "caller_number": r["caller_number"],
                "called_number": r["called_number"], "format": r["format"],
                "duration_seconds": None if r["duration_seconds"] is None else float(r["duration_seconds"]),
                "path": target.get(r["path"] or ""), "original_path": r["path"]}, ensure_ascii=False))
        await asyncio.to_thread(archive.append_lines, lines)
        self.report.archive_files.update(str(f) for f in lines)

    async def calls(self, cutoff: dt.datetime) -> None:
        unhandled = unhandled_references(await q.references(self.conn))
        if unhandled:
            message = "call rows kept: tables refer to calls that retention does not handle: " + ", ".join(unhandled)
            log.error("retention: %s", message)
            self.report.problems.append(message)
            return
        bound = await q.call_id_bound(self.conn, cutoff)
        after = 0
        while self.report.status != "stopped":
            done = await self._batch(self._calls_batch, cutoff, bound, after)
            if not done:
                return
            rows, removed = done
            started = {r["id"]: r["started_at"] for r in rows}
            jobs = [j for r in removed["recordings"] + removed["voicemails"]
                    if (j := self._file_job(r["path"], started[r["call_id"]]))]
            await self._files(jobs)  # after the commit
            counts = self.report.counts
            counts["calls"] += removed["calls"]
            counts["recordings"] += len(removed["recordings"])
            counts["voicemails"] += len(removed["voicemails"])
            counts["tasks_unlinked"] += removed["tasks_unlinked"]
            counts["dial_attempts_unlinked"] += removed["dial_attempts_unlinked"]
            if self.report.first_call_id is None:
                self.report.first_call_id = rows[0]["id"]
            self.report.last_call_id = rows[-1]["id"]
            after = rows[-1]["id"]

    async def _calls_batch(self, cutoff: dt.datetime, bound: int, after: int) -> tuple | None:
        rows = await q.calls_batch(self.conn, cutoff, after, bound, self.batch)
        if not rows:
            return None
        ids = [r["id"] for r in rows]
        if self.policy.calls_action == "archive":
            await self._archive_calls(ids)
        return rows, await q.remove_calls(self.conn, ids)

    async def _archive_calls(self, ids: list[int]) -> None:
        lines: dict[Path, list[str]] = defaultdict(list)
        for r in await q.calls_as_json(self.conn, ids):
            lines[archive.month_file(self.where.archive_dir, "calls", r["started_at"])].append(r["line"])
        await asyncio.to_thread(archive.append_lines, lines)
        self.report.archive_files.update(str(f) for f in lines)
