"""`make test` leaves nothing running (issue 16): a run that leaves a process it started fails,
names it and ends it; processes of other runs and programs are not its business."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.processes import REPO

LEAKY = """
    import subprocess

    def test_starts_a_process_and_forgets_it():
        subprocess.Popen(["sleep", "{seconds}"])
"""
TIDY = """
    import subprocess

    def test_starts_a_process_and_waits_for_it():
        subprocess.Popen(["sleep", "0.1"]).wait()
"""


def _inner_run(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    """A test run of its own on one file, with the project's conftest (its session hooks)."""
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), "-q", str(test_file)],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def _sleeping(seconds: str) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline[:2] == [b"sleep", seconds.encode()]:
                pids.append(int(entry.name))
    return pids


def test_a_run_that_leaves_a_process_fails_and_ends_it(tmp_path):
    seconds = f"{time.time() % 1000 + 100:.3f}"  # a command line no other process has
    # Another run's process (or anyone's): not marked by the inner run, so not reported.
    bystander = subprocess.Popen(["sleep", seconds], env=dict(os.environ, PBXCRM_TEST_RUN="another-run"))
    try:
        result = _inner_run(tmp_path, LEAKY.format(seconds=seconds))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "processes left running by the tests (now killed)" in result.stdout, result.stdout
        assert result.stdout.count(f"sleep {seconds}") == 1, result.stdout
        assert _sleeping(seconds) == [bystander.pid], "the leftover is ended, the bystander is not"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_tidy_run_passes(tmp_path):
    result = _inner_run(tmp_path, TIDY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "left running" not in result.stdout
