"""dialplan/ and asterisk-conf/ pass asterisklint and load in the sandbox without warnings."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import REPO

SANDBOX = Path(os.environ.get("PBXCRM_SANDBOX_ROOT", "/var/lib/pbxcrm/sandbox"))


def test_dialplan_passes_asterisklint(tmp_path):
    # Laid out as the sandbox installs it: extensions.conf #includes pbxcrm/pbxcrm.conf.
    shutil.copy(REPO / "asterisk-conf" / "extensions.conf", tmp_path)
    (tmp_path / "pbxcrm").mkdir()
    shutil.copy(REPO / "dialplan" / "pbxcrm.conf", tmp_path / "pbxcrm")
    lint = Path(sys.executable).with_name("asterisklint")
    result = subprocess.run([str(lint), "dialplan-check", "extensions.conf"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "" and result.stderr.strip() == "", \
        result.stdout + result.stderr


def test_configuration_reloads_in_the_sandbox_without_warnings():
    log = SANDBOX / "var/log/asterisk/messages"
    before = log.stat().st_size if log.exists() else 0
    for command in ("core reload", "dialplan reload"):
        out = subprocess.run([str(REPO / "scripts/sandbox.sh"), "cli", command], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 0, out.stderr
    time.sleep(1)  # the logger writes on its own thread
    with open(log, "rb") as f:
        f.seek(before)
        new = f.read().decode(errors="replace")
    problems = [line for line in new.splitlines() if "WARNING" in line or "ERROR" in line]
    assert problems == [], "\n".join(problems)
    loaded = subprocess.run([str(REPO / "scripts/sandbox.sh"), "cli", "dialplan show pbxcrm-inbound"],
                            capture_output=True, text=True, timeout=30).stdout
    assert "Stasis(pbxcrm,inbound,${EXTEN})" in loaded
