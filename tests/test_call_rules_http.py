"""Call rules through HTTP (issue 17, G2): the admin adds a rule hiding outgoing calls from operators and
managers who did not take part; from then on they do not see, count, export, report or play those calls,
while the rest stays as before. Editing another's call answers 403. Rules that would lock admins out are
refused and change nothing; the admin page answers JSON too and is the admins' alone."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from crm import appsettings
from crm.calls import queries as calls_q
from crm.calls import rule_queries as call_rules_q
from crm.calls.rules import DENY, SEE, Rule
from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.helpers import csrf_from, log_in_as, make_user

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
HIDDEN_NUMBER, SEEN_NUMBER, OWN_NUMBER = "84950000001", "84950000002", "84950000003"


async def _call(conn, channel, direction, number, *, caller=None, operator=None, owner=None, counterparty=None):
    outgoing = direction == "outgoing"
    await calls_q.insert_call(
        conn, channel_id=channel, direction=direction, caller_number="100" if outgoing else number,
        caller_normalized=None, caller_name="", called_number=number if outgoing else "100", called_normalized=None,
        line="PJSIP/trunk", started_at=NOW, linked_id=channel, counterparty_id=counterparty, caller_user_id=caller,
        owner_user_id=owner)
    if operator is not None or outgoing:
        await calls_q.mark_answered(conn, channel, NOW + dt.timedelta(seconds=5), operator, None)
    await calls_q.mark_ended(conn, channel, NOW + dt.timedelta(seconds=65), 16)
    return await calls_q.call_id_by_channel(conn, channel)


@pytest.fixture
async def world(db, tmp_path):
    """Olga placed an outgoing call to Irina's client (recorded) and answered an incoming one; Oleg placed
    one of his own. Oleg (operator) and Irina (manager) look on; Anna is the admin."""
    people = {n: await make_user(db, n, role) for n, role in (("anna", "admin"), ("olga", "operator"),
                                                               ("oleg", "operator"), ("irina", "manager"))}
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, people["anna"]["id"], ["operator", "manager", "admin"])
        client = await service.create(conn, people["irina"], CounterpartyInput(
            kind="client", last_name="Sokolov", responsible_user_id=people["irina"]["id"]), "RU")
        hidden = await _call(conn, "r1", "outgoing", HIDDEN_NUMBER, caller=people["olga"]["id"],
                             owner=people["irina"]["id"], counterparty=client)
        seen = await _call(conn, "r2", "incoming", SEEN_NUMBER, operator=people["olga"]["id"], counterparty=client)
        own = await _call(conn, "r3", "outgoing", OWN_NUMBER, caller=people["oleg"]["id"])
        audio = tmp_path / "call.mp3"
        audio.write_bytes(b"ID3" + bytes(500))
        recording = await conn.fetchval(
            "INSERT INTO recordings (call_id, path, format) VALUES ($1, $2, 'mp3') RETURNING id", hidden, str(audio))
    return {**people, "client": client, "hidden": hidden, "seen": seen, "own": own, "recording": recording}


def _exported_numbers(web) -> list[str]:
    r = web.get("/calls.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    return sorted(str(v) for row in rows for v in row[2:4] if v and str(v) != "100")


def _statistics(web) -> int:
    r = web.get("/api/reports/calls")
    assert r.status_code == 200
    return sum(row["calls"] for row in r.json()["consolidated"])


def _listed(web) -> tuple[int, set[int]]:
    data = web.get("/api/calls").json()
    return data["total"], {c["id"] for c in data["calls"]}


def _add_rule(web, **fields):
    page = web.get("/admin/call-rules")
    assert page.status_code == 200
    return web.post("/admin/call-rules", data={"csrf_token": csrf_from(page.text), **fields}, follow_redirects=False)


HIDE_OUTGOING = {"position": "5", "action": "see", "effect": "deny", "roles": ["operator", "manager"],
                 "took_part": "no", "directions": ["outgoing"], "note": "outgoing calls are their callers'"}


async def test_a_rule_hides_outgoing_calls_everywhere_for_those_who_did_not_take_part(web, world, db):
    everything = {world["hidden"], world["seen"], world["own"]}
    # Before: today's behaviour.
    log_in_as(web, "oleg")
    assert _listed(web) == (3, everything)
    assert _exported_numbers(web) == sorted([HIDDEN_NUMBER, SEEN_NUMBER, OWN_NUMBER])
    assert web.get(f"/calls/{world['hidden']}").status_code == 200
    log_in_as(web, "irina")
    assert _statistics(web) == 3
    assert web.get(f"/recordings/{world['recording']}").status_code == 200, "her client's call"
    assert HIDDEN_NUMBER in web.get(f"/counterparties/{world['client']}").text

    log_in_as(web, "anna")
    r = _add_rule(web, **HIDE_OUTGOING)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        audit = await conn.fetchrow("SELECT entity_id, action, changes FROM audit_log WHERE entity = 'call_rule'")
    assert audit["action"] == "create" and '"directions": [null, ["outgoing"]]' in audit["changes"]
    rules_page = web.get("/admin/call-rules").text
    assert "outgoing calls are their callers&#39;" in rules_page
    assert _listed(web) == (3, everything), "admins see every call still"

    log_in_as(web, "oleg")
    total, ids = _listed(web)
    assert (total, ids) == (2, {world["seen"], world["own"]}), "his own outgoing call stays"
    assert HIDDEN_NUMBER not in web.get("/calls").text and SEEN_NUMBER in web.get("/calls").text
    assert _exported_numbers(web) == sorted([SEEN_NUMBER, OWN_NUMBER])
    assert web.get(f"/calls/{world['hidden']}").status_code == 404
    assert web.get(f"/calls/{world['hidden']}.json").status_code == 404
    assert web.get(f"/recordings/{world['recording']}").status_code == 403

    log_in_as(web, "irina")
    assert _statistics(web) == 1, "neither outgoing call is hers: not counted"
    assert web.get(f"/recordings/{world['recording']}").status_code == 403, "seeing comes first"
    card = web.get(f"/counterparties/{world['client']}")
    assert card.status_code == 200 and HIDDEN_NUMBER not in card.text and SEEN_NUMBER in card.text

    # The rule moved below the rule allowing every call on a live card never applies.
    log_in_as(web, "anna")
    page = web.get("/admin/call-rules")
    rule_id = audit["entity_id"]
    for _step in range(3):
        assert web.post(f"/admin/call-rules/{rule_id}/move", data={"csrf_token": csrf_from(page.text), "steps": "1"},
                        follow_redirects=False).status_code == 303
    log_in_as(web, "oleg")
    assert _listed(web) == (3, everything)


async def test_editing_another_operators_call_is_forbidden(web, world, db):
    log_in_as(web, "oleg")
    page = web.get(f"/calls/{world['seen']}")
    assert page.status_code == 200 and 'id="call-comment"' not in page.text
    r = web.post(f"/calls/{world['seen']}/comment", data={"csrf_token": csrf_from(page.text), "comment": "mine"})
    assert r.status_code == 403
    r = web.post("/api/calls/channel/r2/comment", json={"comment": "mine"},
                 headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]})
    assert r.status_code == 403
    # His own call he comments.
    page = web.get(f"/calls/{world['own']}")
    r = web.post(f"/calls/{world['own']}/comment", data={"csrf_token": csrf_from(page.text), "comment": "called back"},
                 follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        comments = dict(await conn.fetch("SELECT id, comment FROM calls"))
    assert comments[world["seen"]] == "" and comments[world["own"]] == "called back"


async def test_rules_that_would_lock_admins_out_are_refused_and_the_page_is_the_admins(web, world, db):
    async with db.acquire() as conn:
        before = await conn.fetch("SELECT * FROM call_rules ORDER BY id")
    log_in_as(web, "anna")
    r = _add_rule(web, position="1", action="see", effect="deny", roles=["admin"], directions=["internal"])
    assert r.status_code == 409 and "would stop admins" in r.text
    first = before[0]["id"]  # supervisors and admins see every call
    page = web.get("/admin/call-rules")
    r = web.post(f"/admin/call-rules/{first}/delete", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 409 and "would stop admins" in r.text
    r = web.post(f"/admin/call-rules/{first}", json={"action": "edit", "effect": "deny", "roles": ["admin"]},
                 headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]})
    assert r.status_code == 409 and "would stop admins" in r.json()["error"]
    # Wrong input: field errors, nothing saved.
    r = _add_rule(web, action="shout", effect="deny", took_part="maybe")
    assert r.status_code == 400 and 'aria-invalid="true"' in r.text
    async with db.acquire() as conn:
        assert await conn.fetch("SELECT * FROM call_rules ORDER BY id") == before
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'call_rule'") == 0

    # JSON: the list, and a rule added.
    listed = web.get("/admin/call-rules", headers={"accept": "application/json"}).json()
    assert listed["evaluation"] == "first match" and len(listed["rules"]) == len(before)
    r = web.post("/admin/call-rules", json={"action": "listen", "effect": "deny", "directions": ["internal"],
                                            "position": 1}, headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]})
    assert r.status_code == 201 and r.json()["directions"] == ["internal"], r.text

    log_in_as(web, "oleg")
    assert web.get("/admin/call-rules").status_code == 403
    assert web.post("/admin/call-rules/defaults",
                    data={"csrf_token": web.cookies["pbxcrm_csrf"]}).status_code == 403


async def test_unknown_callers_count_only_the_calls_the_rules_show(web, world, db):
    await make_user(db, "sveta", "supervisor")
    async with db.acquire() as conn:
        await calls_q.insert_call(
            conn, channel_id="r4", direction="incoming", caller_number="89990001122", caller_normalized="+79990001122",
            caller_name="", called_number="100", called_normalized=None, line="PJSIP/trunk", started_at=NOW,
            linked_id="r4")
        await calls_q.mark_answered(conn, "r4", NOW + dt.timedelta(seconds=5), world["olga"]["id"], None)
        await calls_q.mark_ended(conn, "r4", NOW + dt.timedelta(seconds=65), 16)

    def listed() -> bool:
        return any(c["normalized"] == "+79990001122" for c in web.get("/api/callers/unknown").json()["callers"])

    log_in_as(web, "sveta")
    assert listed()
    async with db.acquire() as conn:
        await call_rules_q.save(conn, world["anna"]["id"], None, Rule(
            SEE, DENY, roles=frozenset({"supervisor"}), took_part=False, directions=frozenset({"incoming"}), position=1))
    assert not listed(), "the supervisor may not see the number's only call"
    log_in_as(web, "olga")
    assert listed(), "she answered it"
