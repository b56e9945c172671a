"""Retention's files: recordings moved to the archive or removed, and JSON lines appended to gzip files.

Blocking (run in a thread). The archive directory's layout:

    <archive>/recordings/YYYY/MM/DD/<file>            a recording, in its day folder as under the recordings dir
    <archive>/recordings/voicemail/YYYY/MM/DD/<file>  a voicemail's message, likewise
    <archive>/recordings/YYYY-MM.jsonl.gz            one line per archived recording: its call and both paths
    <archive>/calls/YYYY-MM.jsonl.gz                 one line per archived call row (crm/retention/queries.py)

A .jsonl.gz file grows by one gzip member per batch (gzip readers read them as one stream); each batch's
lines are on disk (fsync) before its rows are deleted.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileJob:
    """One audio file whose row is gone: moved into the archive (target) or removed (target None)."""
    path: Path
    target: Path | None


def archived_path(path: Path, recordings_dir: Path, archive_dir: Path, started_at: dt.datetime) -> Path:
    """Where a recording goes in the archive: its place under the recordings dir kept (day folders); a file
    from elsewhere goes into its call's day folder."""
    try:
        relative = path.resolve().relative_to(recordings_dir.resolve())
    except ValueError:
        relative = Path(started_at.strftime("%Y/%m/%d")) / path.name
    return archive_dir / "recordings" / relative


def month_file(archive_dir: Path, kind: str, started_at: dt.datetime) -> Path:
    return archive_dir / kind / f"{started_at:%Y-%m}.jsonl.gz"


def _free(target: Path) -> Path:
    """target, or target.1, .2 ... when a file of that name is archived already (nothing is overwritten)."""
    n, candidate = 0, target
    while candidate.exists():
        n += 1
        candidate = target.with_name(f"{target.name}.{n}")
    return candidate


def apply(jobs: Iterable[FileJob]) -> dict[str, int]:
    """Move or remove each file; a file already gone is no error (counted as missing), a failing one is logged
    and left where it is (counted as failed)."""
    counts = {"moved": 0, "removed": 0, "missing": 0, "failed": 0}
    for job in jobs:
        try:
            if not job.path.exists():
                counts["missing"] += 1
            elif job.target is None:
                job.path.unlink()
                counts["removed"] += 1
            else:
                job.target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(job.path), str(_free(job.target)))
                counts["moved"] += 1
        except FileNotFoundError:
            counts["missing"] += 1
        except OSError as e:
            log.error("retention: %s not %s: %s", job.path, "removed" if job.target is None else "archived", e)
            counts["failed"] += 1
    return counts


def append_lines(lines_by_file: dict[Path, list[str]]) -> None:
    """Each file's lines appended as one gzip member, on disk before this returns."""
    for path, lines in lines_by_file.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
                gz.write("".join(line + "\n" for line in lines).encode())
            raw.flush()
            os.fsync(raw.fileno())


def read_lines(path: Path) -> list[str]:
    """An archive file's lines (all its members)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]
