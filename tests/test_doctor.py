"""`pbxcrm doctor`: the pure checks from made-up facts, then the whole command against the fake ARI
(tests/fake_ari.py) and a real database, green and with one thing broken at a time. Against the
sandbox Asterisk: tests/test_doctor_sandbox.py."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from ari_app.client import basic_auth
from crm.i18n import using
from crm.migrate import load_migrations
from pbxcrm.doctor import checks, dialplan, requirements, run, terminal_language
from pbxcrm.doctor.facts import (
    AriOutcome,
    AriProbe,
    AsteriskFacts,
    CelFacts,
    ClockReading,
    CrmFacts,
    DbOutcome,
    DbProbe,
    Endpoint,
    Facts,
    RecordingsFolder,
    Status,
    UserPhone,
)
from tests.browser import free_tcp_port
from tests.call_flow_support import fake, spec  # noqa: F401
from tests.helpers import make_user
from tests.processes import REPO

DIALPLAN_DIR = REPO / "dialplan"
PLAN = dialplan.read(DIALPLAN_DIR)
KNOWN = tuple(m.version for m in load_migrations())
TITLES_EN = list(checks.TITLES.values())


# ---- the dialplan files and the module list ----

def test_the_dialplan_files_are_read_for_contexts_apps_and_functions():
    assert list(PLAN.contexts) == ["pbxcrm-inbound", "pbxcrm-agi-inbound", "pbxcrm-default-queue", "pbxcrm-store",
                                   "pbxcrm-phones", "pbxcrm-agent-code", "pbxcrm-campaign-amd", "pbxcrm-from-node"]
    assert PLAN.stasis_apps == {"pbxcrm"}
    assert {"Stasis", "Dial", "Queue", "AGI", "ExecIf", "Set", "GotoIf"} <= PLAN.applications
    assert {"DEVICE_STATE", "DB", "CHANNEL", "CALLERID", "IF", "LEN", "FILTER"} <= PLAN.functions
    assert PLAN.probe("pbxcrm-inbound") == "00" and PLAN.probe("pbxcrm-default-queue") == "s"


def test_a_context_is_probed_through_what_it_includes_and_templates_are_no_contexts():
    plan = dialplan.parse("[tpl](!)\nexten => 5,1,NoOp()\n[a]\ninclude => b\n[b]\nexten => _NXX,1,Stasis(other,x)\n"
                          "[globals]\nX=1\n")
    assert list(plan.contexts) == ["a", "b"]
    assert plan.probe("a") == "200" and plan.stasis_apps == {"other"}


@pytest.mark.parametrize("pattern, sample", [("s", "s"), ("_X.", "00"), ("_[0-9+].", "00"), ("_NXXZ", "2001"),
                                             ("_7999XXXXXXX", "79990000000"), ("_[a-c]!", "a"), ("_1-2", "12")])
def test_a_sample_extension_matches_its_pattern(pattern, sample):
    assert dialplan.sample_extension(pattern) == sample


def test_every_application_and_function_the_dialplan_uses_has_its_module_named():
    # A dialplan change that uses a new application or function names its module in
    # pbxcrm/doctor/requirements.py (APPLICATIONS, FUNCTIONS or CORE_APPLICATIONS), so the doctor asks for it.
    assert requirements.unknown(PLAN.applications, PLAN.functions) == []


# ---- the checks, from facts ----

ALL_MODULES = frozenset(name for need in requirements.needs(requirements.Uses(cel=True), PLAN.applications,
                                                            PLAN.functions) for name in need.names)


def healthy(**changes) -> Facts:
    """Facts of an installation where everything is right."""
    asterisk = AsteriskFacts(
        AriProbe("http://pbx:8088", AriOutcome.OK, version="22.10.1"), modules=ALL_MODULES,
        contexts={name: True for name in PLAN.contexts},
        endpoints={e.name: e for e in (Endpoint("PJSIP", "trunk", "online"), Endpoint("PJSIP", "101", "online"),
                                       Endpoint("PJSIP", "trunk2", "online"))},
        local_targets={"105@phones": True}, trunk_global="trunk", trunk_context="from-trunk",
        apps=frozenset({"pbxcrm"}), clock=ClockReading(1_000_000, 1_000_000.2, 1_000_000.3))
    crm = CrmFacts(DbProbe("db:5432/pbxcrm", DbOutcome.OK), applied=frozenset(KNOWN), known=KNOWN,
                   phones=[UserPhone("anna", "101", "PJSIP/101"), UserPhone("boris", "105", "Local/105@phones")],
                   trunk_users={"trunk2": [("rule", "810.")]},
                   cel=CelFacts("cel", newest_event=990.0, newest_call=995.0, now=1000.0))
    facts = Facts(app_name="pbxcrm", trunk="trunk", dialplan=PLAN, dialplan_dir=DIALPLAN_DIR, asterisk=asterisk,
                  crm=crm, recordings=RecordingsFolder(Path("/var/lib/pbxcrm/recordings"), True, True, True, "pbxcrm"))
    for path, value in changes.items():
        owner_name, _, field = path.rpartition(".")
        owner = facts if not owner_name else getattr(facts, owner_name)
        setattr(owner, field, value)
    return facts


def verdict(facts: Facts, check: str):
    return next(v for v in checks.verdicts(facts) if v.check == check)


def test_healthy_facts_pass_every_check():
    assert [(v.check, v.status) for v in checks.verdicts(healthy())] == [
        (name, Status.OK) for name in checks.TITLES]


def test_missing_contexts_say_to_include_the_file():
    v = verdict(healthy(**{"asterisk.contexts": {name: False for name in PLAN.contexts}}), "dialplan")
    assert v.status == Status.FAIL
    assert f'#include "{DIALPLAN_DIR / "pbxcrm.conf"}"' in v.text and "pbxcrm-inbound" in v.text
    one = verdict(healthy(**{"asterisk.contexts": {**{n: True for n in PLAN.contexts}, "pbxcrm-phones": False}}),
                  "dialplan")
    assert one.status == Status.FAIL and "pbxcrm-phones" in one.text and "pbxcrm-inbound" not in one.text


@pytest.mark.parametrize("outcome, words", [
    (AriOutcome.REFUSED, "nothing answers at http://pbx:8088"),
    (AriOutcome.UNAUTHORIZED, "refused the ARI user and password (401)"),
    (AriOutcome.TIMEOUT, "did not answer in time"),
    (AriOutcome.NO_ARI, "has no ARI (404)"),
])
def test_ari_failures_are_told_apart_and_what_needs_ari_is_skipped(outcome, words):
    facts = healthy(**{"asterisk": AsteriskFacts(AriProbe("http://pbx:8088", outcome))})
    by_check = {v.check: v for v in checks.verdicts(facts)}
    assert by_check["ari"].status == Status.FAIL and words in by_check["ari"].text
    for name in ("modules", "dialplan", "trunk", "phones", "clock", "app_connected"):
        assert by_check[name].status == Status.SKIP and "ARI does not answer" in by_check[name].text
    assert by_check["database"].status == by_check["app_name"].status == Status.OK


def test_a_missing_module_is_named_with_what_needs_it():
    v = verdict(healthy(**{"asterisk.modules": ALL_MODULES - {"func_devstate", "app_queue"}}), "modules")
    assert v.status == Status.FAIL
    assert "func_devstate (${DEVICE_STATE()} in the dialplan)" in v.text and "app_queue (Queue() in the dialplan)" in v.text
    refer = verdict(healthy(**{"asterisk.modules": ALL_MODULES - {"res_pjsip_refer"}}), "modules")
    assert refer.status == Status.WARN and "res_pjsip_refer" in refer.text
    # CEL's module is needed once a CEL table exists; either of the two will do.
    without_cel = ALL_MODULES - {"cel_pgsql", "cel_odbc"}
    assert verdict(healthy(**{"asterisk.modules": without_cel | {"cel_odbc"}}), "modules").status == Status.OK
    assert verdict(healthy(**{"asterisk.modules": without_cel}), "modules").status == Status.FAIL
    assert verdict(healthy(**{"asterisk.modules": without_cel, "crm.cel": None}), "modules").status == Status.OK


def test_the_app_name_must_match_the_dialplans_stasis_calls():
    v = verdict(healthy(app_name="crm"), "app_name")
    assert v.status == Status.FAIL and "name pbxcrm, but PBXCRM_ARI_APP is crm" in v.text
    no_stasis = dataclasses.replace(PLAN, stasis_apps=set())
    assert verdict(healthy(dialplan=no_stasis), "app_name").status == Status.FAIL
    away = verdict(healthy(**{"asterisk.apps": frozenset()}), "app_connected")
    assert away.status == Status.WARN and "pbxcrm ari is not running" in away.text


def test_trunks_and_phones_that_asterisk_lacks_are_named():
    endpoints = {"PJSIP/trunk": Endpoint("PJSIP", "trunk", None), "PJSIP/101": Endpoint("PJSIP", "101", "offline"),
                 "PJSIP/trunk2": Endpoint("PJSIP", "trunk2", None)}
    facts = healthy(**{"asterisk.endpoints": endpoints, "asterisk.local_targets": {"105@phones": False},
                       "asterisk.trunk_global": None})
    trunk, phones = verdict(facts, "trunk"), verdict(facts, "phones")
    assert trunk.status == Status.FAIL and "no endpoint PJSIP/trunk (PBXCRM_TRUNK)" in trunk.text
    assert "trunk trunk2, used by dial rule 810., is not an endpoint" in trunk.text
    assert "global PBXCRM_TRUNK is not set" in trunk.text
    assert phones.status == Status.FAIL and "boris (105, Local/105@phones)" in phones.text
    assert "offline now: anna (101, PJSIP/101)" in phones.text
    assert checks.target_of("PJSIP/79161234567@trunk") == ("endpoint", "PJSIP/trunk")
    assert checks.target_of("SIP/1001") == ("endpoint", "SIP/1001")


def test_cel_rows_arriving_or_not():
    def cel(event, call):
        return verdict(healthy(**{"crm.cel": CelFacts("cel", event, call, 10_000.0)}), "cel")

    assert cel(9_990.0, 9_995.0).status == Status.OK
    assert cel(None, None).status == Status.WARN
    assert cel(None, 9_000.0).status == Status.FAIL and "cel.conf" in cel(None, 9_000.0).text
    stale = cel(1_000.0, 9_000.0)
    assert stale.status == Status.FAIL and "stopped arriving" in stale.text and "2 hours" in stale.text
    off = verdict(healthy(**{"crm.cel": None}), "cel")
    assert off.status == Status.SKIP and "not configured" in off.text


def test_the_clock_fails_only_beyond_what_one_reading_can_tell():
    def clock(epoch, before, after):
        return verdict(healthy(**{"asterisk.clock": ClockReading(epoch, before, after)}), "clock")

    assert clock(1000, 1000.9, 1001.0).status == Status.OK  # up to a second apart by rounding alone
    ahead = clock(1010, 1000.0, 1000.1)
    assert ahead.status == Status.FAIL and "10 s ahead" in ahead.text
    assert "s behind" in clock(990, 1000.0, 1000.1).text
    assert clock(1003, 1000.0, 1000.1).status == Status.FAIL
    assert clock(1002, 1000.0, 1000.1).status == Status.OK


def test_database_and_recordings_problems():
    def db(**kw):
        return verdict(healthy(**{f"crm.{k}": v for k, v in kw.items()}), "database")

    pending = db(applied=frozenset(KNOWN[:-1]))
    assert pending.status == Status.FAIL and f"{KNOWN[-1]:04d}" in pending.text and "pbxcrm migrate" in pending.text
    assert "newer pbxcrm" in db(applied=frozenset({*KNOWN, 9999})).text
    assert "no pbxcrm tables" in db(applied=frozenset()).text
    down = healthy(**{"crm.db": DbProbe("db:5432/pbxcrm", DbOutcome.AUTH)})
    assert "refused the user or password" in verdict(down, "database").text
    assert verdict(down, "phones").status == verdict(down, "cel").status == Status.SKIP

    def folder(**kw):
        return verdict(healthy(recordings=RecordingsFolder(**{"path": Path("/rec"), "absolute": True, "exists": True,
                                                                "writable": True, "user": "pbxcrm", **kw})),
                       "recordings")

    assert folder(writable=False, problem="not_writable", detail="Permission denied").status == Status.FAIL
    assert "Permission denied" in folder(writable=False, problem="not_writable", detail="Permission denied").text
    assert folder(absolute=False).status == Status.WARN


def test_the_checks_speak_russian():
    facts = healthy(**{"asterisk.contexts": {name: False for name in PLAN.contexts}})
    with using("ru"):
        text = verdict(facts, "dialplan").text
        assert "#include" in text and "extensions.conf" in text and "контекст" in text
        out = io.StringIO()
        from pbxcrm.doctor import report

        out.write(report.text(checks.verdicts(facts), colour=False))
        assert "ОШИБКА" in out.getvalue()


def test_the_terminals_language_goes_first_and_c_is_none():
    assert terminal_language({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert terminal_language({"LANG": "C.UTF-8"}) is None
    assert terminal_language({"LANGUAGE": "de:en", "LANG": "ru_RU.UTF-8"}) == "en"
    assert terminal_language({"LC_ALL": "en_GB.UTF-8", "LANG": "ru_RU.UTF-8"}) == "en"


async def test_the_database_refusing_or_lacking_the_database_are_told_apart(db, settings):
    # db: a clean database, so no users left by an earlier test show up as phones below.
    from pbxcrm.doctor.gather import gather_crm

    closed = dataclasses.replace(settings, database_url=f"postgresql://postgres@127.0.0.1:{free_tcp_port()}/x")
    assert (await gather_crm(closed)).db.outcome == DbOutcome.REFUSED
    missing = settings.database_url.rsplit("/", 1)[0] + "/pbxcrm_no_such_database"
    facts = await gather_crm(dataclasses.replace(settings, database_url=missing))
    assert facts.db.outcome == DbOutcome.NO_DATABASE and facts.db.where.endswith("/pbxcrm_no_such_database")
    ok = await gather_crm(settings)
    assert ok.db.outcome == DbOutcome.OK and ok.applied == frozenset(KNOWN) and ok.phones == []


# ---- the whole command against the fake ARI ----

@pytest.fixture
async def healthy_pbx(fake, db, settings, tmp_path):
    """The fake Asterisk set up as the README says, a CRM with two users; the app connected."""
    fake.modules = {f"{name}.so" for name in ALL_MODULES}
    fake.dialplan = {name: set(context.extensions) for name, context in PLAN.contexts.items()}
    for endpoint in ("trunk", "101", "1001"):
        fake.add_phone(endpoint)
    fake.globals["PBXCRM_TRUNK"] = "trunk"
    fake.endpoint_contexts["trunk"] = "pbxcrm-inbound"
    await make_user(db, "anna", "manager", extension="101")
    await make_user(db, "oleg", "operator", extension="1001")
    session = aiohttp.ClientSession(headers={"Authorization": basic_auth("pbxcrm", "pbxcrm-sandbox")})
    ws = await session.ws_connect(fake.url + "/ari/events", params={"app": "pbxcrm", "subscribeAll": "false"})
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PBXCRM_ARI_URL": fake.url,
           "PBXCRM_ARI_USER": "pbxcrm", "PBXCRM_ARI_PASSWORD": "pbxcrm-sandbox",
           "PBXCRM_RECORDINGS_DIR": str(tmp_path / "recordings"), "LANG": "C.UTF-8"}
    yield env
    await ws.close()
    await session.close()


async def doctor(env: dict[str, str], dialplan_dir: Path = DIALPLAN_DIR) -> tuple[int, str]:
    from crm.settings import Settings

    out = io.StringIO()
    code = await run(Settings.from_env(env), dialplan_dir=dialplan_dir, out=out, env=env)
    return code, out.getvalue()


def line(output: str, title: str) -> str:
    return next(row for row in output.splitlines() if f"  {title}: " in row)


async def test_against_a_healthy_pbx_every_check_is_green(healthy_pbx, fake):
    code, out = await doctor(healthy_pbx)
    assert code == 0, out
    statuses = {title: line(out, title).split()[0] for title in TITLES_EN}
    assert statuses == {title: "SKIPPED" if title == "CEL" else "OK" for title in TITLES_EN}, out
    assert "not configured" in line(out, "CEL") and out.splitlines()[-1] == "Everything checked is in order."
    assert "\033[" not in out  # no colour when not on a terminal
    assert "its calls enter context pbxcrm-inbound" in line(out, "Trunk")
    assert fake.violations == []
    # It asked Asterisk for every context of the files, by a Local channel's device state.
    assert {r.path for r in fake.calls_to("GET", "/deviceStates/.*")} == {
        "/deviceStates/Local%2F00@pbxcrm-inbound", "/deviceStates/Local%2F00@pbxcrm-agi-inbound",
        "/deviceStates/Local%2Fs@pbxcrm-default-queue", "/deviceStates/Local%2Fs@pbxcrm-store",
        "/deviceStates/Local%2F00@pbxcrm-phones", "/deviceStates/Local%2Fs@pbxcrm-agent-code",
        "/deviceStates/Local%2Fs@pbxcrm-campaign-amd", "/deviceStates/Local%2F00@pbxcrm-from-node"}
    assert not fake.commands(), "the doctor changes nothing"


async def test_with_the_dialplan_include_removed_it_names_that_problem(healthy_pbx, fake):
    fake.dialplan = {"from-trunk": {"_X."}}  # Asterisk's own dialplan, without our #include
    code, out = await doctor(healthy_pbx)
    assert code == 1
    dial = line(out, "Dialplan")
    assert dial.startswith("FAILED") and "Asterisk has none of our contexts" in dial
    assert f'add #include "{DIALPLAN_DIR / "pbxcrm.conf"}" to extensions.conf' in dial
    assert out.splitlines()[-1] == "1 check failed."


async def test_a_context_of_a_dialplan_file_asterisk_lacks_is_named(healthy_pbx, fake, tmp_path):
    folder = tmp_path / "dialplan"
    folder.mkdir()
    (folder / "pbxcrm.conf").write_text((DIALPLAN_DIR / "pbxcrm.conf").read_text()
                                        + "\n[pbxcrm-new]\nexten => s,1,Stasis(pbxcrm,new)\n")
    code, out = await doctor(healthy_pbx, folder)
    assert code == 1 and "Asterisk lacks pbxcrm-new of" in line(out, "Dialplan")


async def test_wrong_credentials_and_nothing_listening_are_told_apart(healthy_pbx, fake):
    code, out = await doctor({**healthy_pbx, "PBXCRM_ARI_PASSWORD": "wrong"})
    assert code == 1 and "refused the ARI user and password (401)" in line(out, "ARI")
    assert line(out, "Dialplan").startswith("SKIPPED")
    assert fake.violations and all("wrong Basic credentials" in v for v in fake.violations)
    fake.violations.clear()
    code, out = await doctor({**healthy_pbx, "PBXCRM_ARI_URL": f"http://127.0.0.1:{free_tcp_port()}"})
    assert code == 1 and "nothing answers at http://127.0.0.1:" in line(out, "ARI")


async def test_each_broken_part_is_named(healthy_pbx, fake, db):
    fake.modules.discard("func_devstate.so")
    fake.endpoints.pop("1001")
    fake.globals["PBXCRM_TRUNK"] = "old-trunk"
    fake.clock_skew = 30
    vera = await make_user(db, "vera", "operator", extension="107")
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET dial = 'Local/107@office-phones' WHERE id = $1", vera["id"])
    code, out = await doctor(healthy_pbx)
    assert code == 1
    assert "func_devstate" in line(out, "Asterisk modules")
    phones = line(out, "Users' phones")
    assert "oleg (1001, PJSIP/1001)" in phones and "vera (107, Local/107@office-phones)" in phones
    assert "anna" not in phones
    assert line(out, "Trunk").startswith("WARNING") and "global PBXCRM_TRUNK is old-trunk" in line(out, "Trunk")
    assert "s ahead of this host's" in line(out, "Clock")
    assert fake.violations == []


async def test_the_command_line_prints_json_in_the_terminals_language(healthy_pbx, fake):
    fake.dialplan = {}
    env = {**healthy_pbx, "LANG": "ru_RU.UTF-8"}
    # A process of its own, as an admin runs it; this loop keeps serving the fake meanwhile.
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "pbxcrm", "doctor", "--json", env=env, cwd=REPO,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, stderr.decode()
    answer = json.loads(stdout)
    assert answer["ok"] is False and answer["language"] == "ru"
    by_check = {c["check"]: c for c in answer["checks"]}
    assert list(by_check) == list(checks.TITLES)
    assert by_check["dialplan"]["status"] == "fail" and by_check["dialplan"]["title"] == "Диалплан"
    assert "#include" in by_check["dialplan"]["text"] and by_check["ari"]["status"] == "ok"


def test_a_browser_phone_is_checked_as_a_phone_of_its_own():
    """Issue 19: a user whose calls ring in the browser needs the webrtc-<extension> endpoint too."""
    both = [UserPhone("anna", "101", "PJSIP/101"), UserPhone("anna", "101", "PJSIP/webrtc-101")]
    v = verdict(healthy(**{"crm.phones": both}), "phones")
    assert v.status == Status.FAIL and "anna (101, PJSIP/webrtc-101)" in v.text and "PJSIP/101)" not in v.text
    endpoints = {e.name: e for e in (Endpoint("PJSIP", "trunk", "online"), Endpoint("PJSIP", "101", "online"),
                                     Endpoint("PJSIP", "trunk2", "online"), Endpoint("PJSIP", "webrtc-101", "online"))}
    v = verdict(healthy(**{"crm.phones": both, "asterisk.endpoints": endpoints}), "phones")
    assert v.status == Status.OK and "the phone of the 1 user with an extension exists" in v.text
