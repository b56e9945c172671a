"""Retention (issue 25): a run against a database of old and new calls with their recordings on disk."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from crm.errors import ValidationError
from crm.retention import archive, job
from crm.retention import queries as q
from crm.retention.policy import DEPENDENTS, RetentionPolicy, months_before, validated
from tests.helpers import make_user
from tests.retention_support import NOW, add_call, add_dial_attempt, add_task, add_voicemail, months_ago

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_months_before_clamps_to_the_months_last_day():
    assert months_before(dt.datetime(2026, 3, 31, 9, tzinfo=dt.UTC), 1) == dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC)
    assert months_before(dt.datetime(2026, 1, 15, tzinfo=dt.UTC), 13) == dt.datetime(2024, 12, 15, tzinfo=dt.UTC)


def test_the_form_is_checked_sensibly():
    assert validated("6", "archive", "24", "delete") == RetentionPolicy(6, "archive", 24, "delete")
    assert validated("", "delete", "", "delete") == RetentionPolicy()
    assert validated("3", "delete", "", "delete").calls_months is None  # calls kept forever
    for args, field in ((("x", "delete", "", "delete"), "recordings_months"),
                        (("0", "delete", "", "delete"), "recordings_months"),
                        (("", "delete", "12", "delete"), "recordings_months"),  # recordings outliving calls
                        (("12", "delete", "6", "delete"), "calls_months"),
                        (("1", "burn", "", "delete"), "recordings_action")):
        with pytest.raises(ValidationError) as e:
            validated(*args)
        assert field in e.value.errors, args


async def test_every_table_referring_to_calls_has_a_decision(db):
    """A new foreign key to calls(id) must be decided on in crm/retention/policy.py (the job refuses otherwise)."""
    async with db.acquire() as conn:
        assert set(await q.references(conn)) == set(DEPENDENTS)


async def _world(db, tmp_path):
    """Calls 14 months old (due for deletion), 8 months old (recording due), 1 month old (kept)."""
    rec_dir = tmp_path / "recordings"
    user = await make_user(db, "ivanova", "manager")
    async with db.acquire() as conn:
        old = await add_call(conn, "old-1", months_ago(14), rec_dir)
        old2 = await add_call(conn, "old-2", months_ago(13), rec_dir, recording=False)
        middle = await add_call(conn, "middle-1", months_ago(8), rec_dir)
        new = await add_call(conn, "new-1", months_ago(1), rec_dir)
        voicemail = await add_voicemail(conn, old2["id"], rec_dir, months_ago(13))
        task = await add_task(conn, user["id"], old["id"])
        new_task = await add_task(conn, user["id"], new["id"])
        attempt = await add_dial_attempt(conn, user["id"], old["id"])
        await conn.execute("INSERT INTO transfer_requests (call_id, channel_id, requested_by, target_kind, "
                           "target_number) VALUES ($1, 'old-1', $2, 'number', '+74950000000')", old["id"], user["id"])
    return {"rec_dir": rec_dir, "old": old, "old2": old2, "middle": middle, "new": new, "voicemail": voicemail,
            "task": task, "new_task": new_task, "attempt": attempt}


async def test_a_run_archives_old_recordings_and_call_rows_and_keeps_the_new(db, tmp_path):
    w = await _world(db, tmp_path)
    where = job.Where(w["rec_dir"], tmp_path / "archive")
    policy = RetentionPolicy(6, "archive", 12, "archive")
    async with db.acquire() as conn:
        report = await job.run(conn, policy, NOW, where, batch=1)
        assert report.status == "done", report.problems
        assert (report.counts["calls"], report.counts["recordings"], report.counts["voicemails"]) == (2, 2, 1), report
        assert report.batches >= 4, "one row per batch here: batches really are separate"
        # Rows: the old calls gone with their legs, transfer request, recording and voicemail ...
        ids = [w[k]["id"] for k in ("old", "old2", "middle", "new")]
        assert await conn.fetchval("SELECT array_agg(id ORDER BY id) FROM calls WHERE id = ANY($1)", ids) == ids[2:]
        assert await conn.fetchval("SELECT count(*) FROM call_legs WHERE call_id = ANY($1)", ids[:2]) == 0
        assert await conn.fetchval("SELECT count(*) FROM transfer_requests") == 0
        assert await conn.fetchval("SELECT count(*) FROM voicemails") == 0
        # ... the middle call stays without its recording, the new one with it ...
        assert await conn.fetchval("SELECT array_agg(call_id) FROM recordings") == [w["new"]["id"]]
        assert await conn.fetchval("SELECT count(*) FROM call_legs WHERE call_id = $1", w["middle"]["id"]) == 1
        # ... and the task and the campaign's attempt stay, without the link.
        assert await conn.fetchval("SELECT call_id FROM tasks WHERE id = $1", w["task"]) is None
        assert await conn.fetchval("SELECT call_id FROM tasks WHERE id = $1", w["new_task"]) == w["new"]["id"]
        assert await conn.fetchval("SELECT call_id IS NULL AND outcome = 'answered' FROM dial_attempts") is True
        entry = await conn.fetchrow("SELECT user_id, changes FROM audit_log WHERE entity = 'retention'")
    # Files: moved into the archive in their day folders; the new one where it was.
    archived = tmp_path / "archive" / "recordings"
    for key in ("old", "middle"):
        assert not w[key]["path"].exists()
        assert (archived / w[key]["path"].relative_to(w["rec_dir"])).read_bytes().startswith(b"ID3")
    assert (archived / w["voicemail"].relative_to(w["rec_dir"])).exists() and not w["voicemail"].exists()
    assert w["new"]["path"].exists()
    # The call archive: one gzip JSON line per call, complete with what went with it.
    lines = []
    for f in sorted((tmp_path / "archive" / "calls").glob("*.jsonl.gz")):
        lines += [json.loads(x) for x in archive.read_lines(f)]
    by_channel = {c["channel_id"]: c for c in lines}
    assert set(by_channel) == {"old-1", "old-2"}
    assert by_channel["old-1"]["legs"][0]["name"] == "Ivanova" and by_channel["old-1"]["task_ids"] == [w["task"]]
    assert by_channel["old-1"]["transfer_requests"][0]["target_number"] == "+74950000000"
    assert by_channel["old-1"]["dial_attempt_ids"] == [w["attempt"]]
    assert by_channel["old-2"]["voicemail"]["path"] == str(w["voicemail"])
    assert by_channel["old-1"]["recordings"] == [], "its recording went first, with the recordings' period"
    manifest = [json.loads(x) for f in archived.glob("*.jsonl.gz") for x in archive.read_lines(f)]
    assert {m["call_id"] for m in manifest} == {w["old"]["id"], w["middle"]["id"]}
    assert all(os.path.exists(m["path"]) for m in manifest)
    # The audit log says what went, by the system.
    changes = json.loads(entry["changes"])
    assert entry["user_id"] is None and changes["calls"] == [None, 2] and changes["recordings"] == [None, 2]
    assert changes["call_ids"] == [None, f"{w['old']['id']}-{w['old2']['id']}"]
    # A second run finds nothing and writes nothing.
    async with db.acquire() as conn:
        again = await job.run(conn, policy, NOW, where)
        assert not again.removed_anything
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'retention'") == 1


async def test_delete_removes_the_files_and_a_missing_file_is_no_error(db, tmp_path):
    w = await _world(db, tmp_path)
    w["middle"]["path"].unlink()  # someone removed it by hand
    async with db.acquire() as conn:
        report = await job.run(conn, RetentionPolicy(6, "delete", 12, "delete"), NOW,
                               job.Where(w["rec_dir"], tmp_path / "archive"))
        assert report.status == "done" and not report.problems
        assert await conn.fetchval("SELECT count(*) FROM calls") == 2
    assert report.counts["files_missing"] == 1 and report.counts["files_removed"] == 2  # old-1's and the voicemail
    assert not w["old"]["path"].exists() and not w["voicemail"].exists() and w["new"]["path"].exists()
    assert not (tmp_path / "archive").exists()


async def test_recordings_only_keeps_every_call_row(db, tmp_path):
    w = await _world(db, tmp_path)
    async with db.acquire() as conn:
        report = await job.run(conn, RetentionPolicy(6, "delete", None, "delete"), NOW,
                               job.Where(w["rec_dir"], tmp_path / "archive"))
        assert (report.counts["recordings"], report.counts.get("calls", 0)) == (2, 0)
        assert await conn.fetchval("SELECT count(*) FROM calls") == 4
        assert await conn.fetchval("SELECT count(*) FROM voicemails") == 1, "voicemails go with their calls"


async def test_one_run_at_a_time(db, tmp_path):
    w = await _world(db, tmp_path)
    async with db.acquire() as holder, db.acquire() as conn:
        assert await q.try_lock(holder)
        report = await job.run(conn, RetentionPolicy(6, "delete", 12, "delete"), NOW,
                               job.Where(w["rec_dir"], tmp_path / "archive"))
        assert report.status == "busy" and await conn.fetchval("SELECT count(*) FROM calls") == 4
        await q.unlock(holder)


async def test_the_command_dry_run_prints_counts_and_changes_nothing(db, tmp_path, database_url):
    w = await _world(db, tmp_path)
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await q.save_policy(conn, admin["id"], RetentionPolicy(6, "delete", 12, "delete"))
    # The command's clock: NOW, through the CRM's clock offset.
    offset = int((NOW - dt.datetime.now(dt.UTC)).total_seconds())
    env = dict(os.environ, DATABASE_URL=database_url, PBXCRM_RECORDINGS_DIR=str(w["rec_dir"]),
               PBXCRM_ARCHIVE_DIR=str(tmp_path / "archive"), PBXCRM_CLOCK_OFFSET_SECONDS=str(offset))
    out = subprocess.run([sys.executable, "-m", "pbxcrm", "retention", "--dry-run"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "dry run: nothing changed" in out.stdout
    assert "recordings 2, recording_files 2, calls 2, voicemails 1, tasks_unlinked 1, dial_attempts_unlinked 1" \
        in out.stdout, out.stdout
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM calls") == 4
        assert await conn.fetchval("SELECT count(*) FROM recordings") == 3
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'retention'") == 0
    assert w["old"]["path"].exists() and w["middle"]["path"].exists()
    # And the real run, by hand.
    out = subprocess.run([sys.executable, "-m", "pbxcrm", "retention"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "removed: recordings 2, calls 2, voicemails 1" in out.stdout, out.stdout
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM calls") == 2
