"""`pbxcrm retention [--dry-run]`: one retention run by hand (issue 25), as the web workers' hourly job does."""

from __future__ import annotations

import asyncio
import sys

from crm.settings import Settings

_ORDER = ("recordings", "recording_files", "calls", "voicemails", "tasks_unlinked", "dial_attempts_unlinked",
          "call_legs", "files_moved", "files_removed", "files_missing", "files_failed")


def _line(counts: dict) -> str:
    keys = [k for k in _ORDER if k in counts] + sorted(k for k in counts if k not in _ORDER)
    return ", ".join(f"{k} {counts[k]}" for k in keys)


def cmd_retention(args, settings: Settings) -> int:
    import asyncpg

    from crm.retention import job
    from crm.retention import queries as q

    async def run() -> job.Report:
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            policy = await q.load_policy(conn)
            return await job.run(conn, policy, settings.clock.now(),
                                 job.Where(settings.recordings_dir, settings.archive_dir),
                                 dry_run=args.dry_run, batch=args.batch)
        finally:
            await conn.close()

    report = asyncio.run(run())
    if report.status == "off":
        print("retention: recordings and call rows are kept forever (admin settings, Retention)")
        return 0
    if report.status == "busy":
        print("retention: another run is under way (the lock is held); nothing done", file=sys.stderr)
        return 1
    cutoffs = ", ".join(f"{what} before {cutoff:%Y-%m-%d %H:%M %Z}" for what, cutoff in
                        (("recordings", report.recordings_cutoff), ("call rows", report.calls_cutoff)) if cutoff)
    print(f"retention{' (dry run: nothing changed)' if report.dry_run else ''}: {cutoffs}")
    print(("due: " if report.dry_run else "removed: ") + (_line(dict(report.counts)) or "nothing"))
    for f in sorted(report.archive_files):
        print(f"archive: {f}")
    for problem in report.problems:
        print(f"retention: {problem}", file=sys.stderr)
    return 1 if report.status == "stopped" else 0


def add_command(sub) -> None:
    p = sub.add_parser("retention", help="delete or archive recordings and call rows older than the admin's "
                                         "retention periods, in small batches")
    p.add_argument("--dry-run", action="store_true", help="print what is due and change nothing")
    p.add_argument("--batch", type=int, default=1000, help="rows per transaction (default 1000)")
    p.set_defaults(func=cmd_retention)
