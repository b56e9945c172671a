"""The deployment files (deploy/): the systemd units pass `systemd-analyze verify`, restart on failure,
take their children down with them and start commands the CLI has; the environment file example
names every setting pbxcrm reads, and only those."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from crm.settings import Settings
from pbxcrm.cli import build_parser
from tests.processes import REPO

UNITS = sorted((REPO / "deploy" / "systemd").glob("*.service"))
ENV_EXAMPLE = REPO / "deploy" / "pbxcrm.env.example"
INSTALLED_PBXCRM = "/opt/pbxcrm/.venv/bin/pbxcrm"
ENV_FILE = "/etc/pbxcrm/pbxcrm.env"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def test_there_is_a_unit_for_each_long_running_command():
    # The notifier runs inside every web worker (web/notifier.py): no unit of its own.
    started = {shlex.split(unit(path)["Service"]["ExecStart"])[1] for path in UNITS}
    assert started == {"web", "ari", "agi", "sms", "mail"}


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_a_unit_restarts_on_failure_and_stops_its_children(path):
    service = unit(path)["Service"]
    assert service["Restart"] == "on-failure"
    assert service["KillMode"] == "control-group"
    assert 5 <= int(service["TimeoutStopSec"]) <= 30
    assert service["EnvironmentFile"] == ENV_FILE
    assert service["User"] == "pbxcrm"
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == INSTALLED_PBXCRM
    args = build_parser().parse_args(argv[1:])  # argparse exits on a command or option the CLI lacks
    assert args.command == argv[1]


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: scripts/install-system-deps.sh installs systemd"
    # As installed, but starting this checkout's pbxcrm: verify checks that ExecStart is executable.
    pbxcrm = REPO / ".venv" / "bin" / "pbxcrm"
    assert pbxcrm.exists()
    for path in UNITS:
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED_PBXCRM, str(pbxcrm)))
    result = subprocess.run([analyze, "verify", *(str(tmp_path / p.name) for p in UNITS)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stdout + result.stderr


def example_lines() -> dict[str, tuple[str, bool]]:
    """name -> (value, set) for each KEY=value line of the example, commented out (set False) or not."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            assert m[2] not in found, f"{m[2]} twice in {ENV_EXAMPLE.name}"
            found[m[2]] = (m[3], not m[1])
    return found


def test_the_environment_file_names_every_setting_and_only_those():
    read = set(re.findall(r'"((?:PBXCRM_[A-Z0-9_]+)|DATABASE_URL)"', (REPO / "crm" / "settings.py").read_text()))
    assert read, "crm/settings.py reads its variables by name"
    # A new setting goes into deploy/pbxcrm.env.example too, commented out if it has a default.
    assert set(example_lines()) == read


def test_the_environment_file_as_written_is_valid_settings():
    values = {name: value for name, (value, is_set) in example_lines().items() if is_set}
    settings = Settings.from_env(values)
    assert settings.recordings_dir.is_absolute() and settings.cookie_secure
    assert settings.ari_url == "http://127.0.0.1:8088"
    # What it leaves out is the default, or an example of a setting that has none.
    defaults = {"PBXCRM_ARI_APP": Settings.ari_app, "PBXCRM_LOOKUP_BUDGET_MS": str(Settings.lookup_budget_ms),
                "PBXCRM_SESSION_HOURS": str(Settings.session_hours), "PBXCRM_SMTP_PORT": str(Settings.smtp_port)}
    for name, default in defaults.items():
        assert example_lines()[name] == (default, False)
