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
    # asterisklint (0.4) has no model of app_amd; AMD() exists in Asterisk 22 (the sandbox
    # test below loads the dialplan, and the doctor names its module), so only that is let through.
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and not line.endswith(UNKNOWN_TO_ASTERISKLINT)]
    assert problems == [], "\n".join(problems)


UNKNOWN_TO_ASTERISKLINT = "E_APP_MISSING: app 'AMD' does not exist, dialplan will halt here!"


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
