"""`pbxcrm doctor` against the sandbox Asterisk, as an admin runs it: all green when the sandbox is
set up as the README says and `pbxcrm ari` runs; a context of the dialplan files that Asterisk
has not loaded, a wrong ARI password and a closed port are each named. Nothing is changed in the
shared sandbox: the missing context is one added to a copy of the dialplan files the doctor reads."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from crm.dialing import queries as dialing_q
from crm.dialing.rules import RuleInput
from pbxcrm.doctor import checks
from tests.browser import free_tcp_port
from tests.helpers import make_user
from tests.processes import REPO
from tests.telephony import sandbox_cel_database_url


async def doctor(env: dict[str, str], *args: str) -> tuple[int, dict]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "pbxcrm", "doctor", "--json", *args, env=env,
                                                cwd=REPO, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert stdout, stderr.decode()
    return proc.returncode, {c["check"]: c for c in json.loads(stdout)["checks"]}


async def test_the_doctor_finds_the_sandbox_healthy_and_names_what_is_broken(db, database_url, start_stasis_app,
                                                                             tmp_path):
    await make_user(db, "anna", "manager", extension="101")
    oleg = await make_user(db, "oleg", "operator", extension="1001")
    async with db.acquire() as conn:
        await dialing_q.save_rule(conn, oleg["id"], None, RuleInput(pattern="810.", trunk="trunk2"))
    env = {**os.environ, "DATABASE_URL": database_url, "PBXCRM_RECORDINGS_DIR": str(tmp_path / "recordings"),
           "LANG": "C.UTF-8"}
    env.pop("PBXCRM_CEL_DATABASE_URL", None)  # first: CEL in the CRM's own database, which has no CEL table
    await start_stasis_app(**{k: v for k, v in env.items() if k.startswith("PBXCRM_")})

    code, found = await doctor(env)
    statuses = {name: check["status"] for name, check in found.items()}
    assert statuses == {name: "skip" if name == "cel" else "ok" for name in checks.TITLES}, found
    assert code == 0
    assert "not configured" in found["cel"]["text"]
    assert "Asterisk 22" in found["ari"]["text"]
    assert "pbxcrm-inbound" in found["dialplan"]["text"] and "pbxcrm-phones" in found["dialplan"]["text"]
    assert "its calls enter context sandbox-from-trunk" in found["trunk"]["text"]

    # CEL where the sandbox's cel_pgsql writes it (another database, as the reconciler reads it).
    code, found = await doctor({**env, "PBXCRM_CEL_DATABASE_URL": sandbox_cel_database_url()})
    assert found["cel"]["status"] in ("ok", "warn"), found["cel"]
    assert "not configured" not in found["cel"]["text"]

    # A dialplan file with a context Asterisk has not loaded: as if the #include were missing or stale.
    folder = tmp_path / "dialplan"
    folder.mkdir()
    (folder / "pbxcrm.conf").write_text((REPO / "dialplan" / "pbxcrm.conf").read_text()
                                        + "\n[pbxcrm-not-loaded]\nexten => s,1,Stasis(pbxcrm,inbound,)\n")
    code, found = await doctor(env, "--dialplan", str(folder))
    assert code == 1 and found["dialplan"]["status"] == "fail"
    assert "Asterisk lacks pbxcrm-not-loaded of" in found["dialplan"]["text"]
    assert "pbxcrm-inbound" not in found["dialplan"]["text"]

    code, found = await doctor({**env, "PBXCRM_ARI_PASSWORD": "not-the-password"})
    assert code == 1 and "refused the ARI user and password (401)" in found["ari"]["text"]
    assert found["modules"]["status"] == "skip"

    code, found = await doctor({**env, "PBXCRM_ARI_URL": f"http://127.0.0.1:{free_tcp_port()}"})
    assert code == 1 and found["ari"]["text"].startswith("nothing answers at http://127.0.0.1:")
