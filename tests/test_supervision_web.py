"""Listen-in, whisper and barge asked for in the web (issue 18): POST /calls/{id}/supervise (the call
page's control) and /api/calls/{id}/supervise - who may (supervisors and admins the call rules let
listen), when (a live call with an operator talking), CSRF - and what the Stasis app is told
(supervision_requests and a NOTIFY pbxcrm_supervision), audited. The app's side and what is heard:
tests/test_supervision_sipp.py and tests/test_call_flow_supervision.py."""

import asyncio
import datetime as dt

import asyncpg
import pytest

from crm.calls import rule_queries
from crm.calls.rules import DENY, LISTEN, Rule
from crm.supervision import CHANNEL
from tests.helpers import csrf_from, login, make_user


@pytest.fixture
async def call(db):
    """A client's call answered by Olga (ext 105), who talks on it now; Sergeeva supervises (ext 107)."""
    olga = await make_user(db, "olga", "operator", full_name="Olga Orlova", extension="105")
    boss = await make_user(db, "boss", "supervisor", full_name="Sofia Sergeeva", extension="107")
    admin = await make_user(db, "chief", "admin", full_name="Chief Admin", extension="108")
    await make_user(db, "nophone", "supervisor", full_name="No Phone")
    await make_user(db, "manager", "manager", full_name="Max Manager", extension="109")
    now = dt.datetime.now(dt.timezone.utc)
    async with db.acquire() as conn:
        call_id = await conn.fetchval(
            """INSERT INTO calls (channel_id, direction, caller_number, started_at, answered_at, status,
                                  operator_user_id)
               VALUES ('1700000000.9', 'incoming', '+74951234567', $1, $1, 'answered', $2) RETURNING id""",
            now, olga["id"])
        await conn.execute("INSERT INTO call_legs (call_id, position, user_id, name, answered_at) "
                           "VALUES ($1, 1, $2, 'Olga Orlova', $3)", call_id, olga["id"], now)
    return {"id": call_id, "channel": "1700000000.9", "olga": olga, "boss": boss, "admin": admin}


def _post(web, call_id: int, mode: str, csrf: bool = True):
    headers = {"x-csrf-token": web.cookies["pbxcrm_csrf"]} if csrf else {}
    return web.post(f"/api/calls/{call_id}/supervise", json={"mode": mode}, headers=headers)


async def _requests(db) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return await conn.fetch("SELECT * FROM supervision_requests ORDER BY id")


async def _audit(db, call_id: int) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return await conn.fetch("SELECT user_id, action, changes FROM audit_log WHERE entity = 'call' "
                                "AND entity_id = $1 ORDER BY id", call_id)


async def test_a_supervisor_asks_to_listen_and_the_app_is_told_and_it_is_audited(call, db, web, database_url):
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(CHANNEL, lambda _c, _p, _ch, payload: heard.append(payload))
    try:
        login(web, "boss")
        r = _post(web, call["id"], "listen")
        assert r.status_code == 202, r.text
        request_id = r.json()["id"]
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.01)
    finally:
        await listener.close()
    assert heard == [str(request_id)]
    [row] = await _requests(db)
    assert (row["call_id"], row["channel_id"], row["supervisor_id"], row["extension"], row["mode"], row["status"]) \
        == (call["id"], call["channel"], call["boss"]["id"], "107", "listen", "pending")
    [audit] = await _audit(db, call["id"])
    assert audit["user_id"] == call["boss"]["id"] and audit["action"] == "supervise"
    assert '"supervision": [null, "listen"]' in audit["changes"] and '"extension": [null, "107"]' in audit["changes"]
    assert web.get(f"/api/supervision/{request_id}").json() == {
        "id": request_id, "call_id": call["id"], "mode": "listen", "status": "pending", "error": None}
    # Asked again while the first goes on: no second phone call.
    r = _post(web, call["id"], "barge")
    assert r.status_code == 409 and r.json()["error"] == "you are already on this call, or your phone is ringing for it"
    # An admin whispers and barges as well; once the first request is over, the supervisor may ask again.
    login(web, "chief")
    assert _post(web, call["id"], "whisper").status_code == 202
    async with db.acquire() as conn:
        await conn.execute("UPDATE supervision_requests SET status = 'done' WHERE supervisor_id = $1",
                           call["admin"]["id"])
    assert _post(web, call["id"], "barge").status_code == 202
    assert [r["mode"] for r in await _requests(db)] == ["listen", "whisper", "barge"]


async def test_only_supervisors_and_admins_and_only_in_a_mode_that_exists(call, db, web):
    for who in ("olga", "manager"):
        login(web, who)
        r = _post(web, call["id"], "listen")
        assert r.status_code == 403, (who, r.text)
        assert r.json()["error"] == "only supervisors and admins may listen in on calls"
    login(web, "boss")
    r = _post(web, call["id"], "shout")
    assert r.status_code == 400 and "mode" in r.json()["errors"]
    assert await _requests(db) == [] and await _audit(db, call["id"]) == []
    # Someone else's request's status is nobody else's business.
    assert _post(web, call["id"], "listen").status_code == 202
    request_id = (await _requests(db))[0]["id"]
    login(web, "olga")
    assert web.get(f"/api/supervision/{request_id}").status_code == 404


async def test_the_call_rules_decide_which_calls_a_supervisor_may_listen_to(call, db, web):
    async with db.acquire() as conn:  # the admin keeps supervisors off incoming calls
        await rule_queries.save(conn, call["admin"]["id"], None, Rule(
            action=LISTEN, effect=DENY, roles=frozenset({"supervisor"}), directions=frozenset({"incoming"}),
            position=1))
    login(web, "boss")
    r = _post(web, call["id"], "listen")
    assert r.status_code == 403 and r.json()["error"] == "the call rules do not let you listen to this call"
    assert 'id="call-supervision"' not in web.get(f"/calls/{call['id']}").text
    login(web, "chief")  # the rule is the supervisors'
    assert _post(web, call["id"], "listen").status_code == 202


async def test_no_csrf_no_listening(call, db, web):
    login(web, "boss")
    assert _post(web, call["id"], "listen", csrf=False).status_code == 403
    page = web.get(f"/calls/{call['id']}")
    r = web.post(f"/calls/{call['id']}/supervise", data={"mode": "listen"}, follow_redirects=False)
    assert r.status_code == 403
    assert csrf_from(page.text)  # the page's own form has one
    assert await _requests(db) == []


async def test_a_call_not_live_or_with_nobody_on_it_is_a_conflict_in_words(call, db, web):
    login(web, "boss")
    async with db.acquire() as conn:
        await conn.execute("UPDATE call_legs SET ended_at = NULL, user_id = NULL WHERE call_id = $1", call["id"])
        await conn.execute("UPDATE calls SET answered_at = NULL WHERE id = $1", call["id"])
    r = _post(web, call["id"], "listen")
    assert r.status_code == 409
    assert r.json()["error"] == "nobody has answered the call yet: listen in once an operator talks on it"
    async with db.acquire() as conn:
        await conn.execute("UPDATE calls SET answered_at = now(), ended_at = now() WHERE id = $1", call["id"])
    r = _post(web, call["id"], "barge")
    assert r.status_code == 409 and r.json()["error"] == "the call has ended: there is nothing to listen to"
    login(web, "nophone")
    r = _post(web, call["id"], "listen")
    assert r.status_code == 409 and r.json()["error"].startswith("you have no extension")
    assert _post(web, 999999, "listen").status_code == 404
    assert await _requests(db) == [] and await _audit(db, call["id"]) == []


async def test_the_operator_on_the_call_does_not_listen_to_himself(call, db, web):
    async with db.acquire() as conn:
        await conn.execute("UPDATE call_legs SET user_id = $2 WHERE call_id = $1", call["id"], call["boss"]["id"])
    login(web, "boss")
    r = _post(web, call["id"], "listen")
    assert r.status_code == 409 and r.json()["error"] == "you are talking on this call yourself"


async def test_the_call_page_offers_the_three_modes_and_its_form_asks(call, db, web):
    login(web, "olga")  # the operator: no control
    assert 'id="call-supervision"' not in web.get(f"/calls/{call['id']}").text
    assert web.get(f"/calls/{call['id']}.json").json()["can_supervise"] is False
    login(web, "boss")
    page = web.get(f"/calls/{call['id']}")
    assert page.status_code == 200
    control = page.text[page.text.index('id="call-supervision"'):]
    control = control[:control.index("</section>")]
    for mode in ("listen", "whisper", "barge"):
        assert f'name="mode" value="{mode}"' in control
    assert web.get(f"/calls/{call['id']}.json").json()["can_supervise"] is True
    r = web.post(f"/calls/{call['id']}/supervise", data={"csrf_token": csrf_from(page.text), "mode": "whisper"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/calls/{call['id']}"
    [row] = await _requests(db)
    assert row["mode"] == "whisper"
    page = web.get(f"/calls/{call['id']}")  # the page says how it goes
    assert "Request sent" in page.text and "Whisper" in page.text
    async with db.acquire() as conn:
        await conn.execute("UPDATE calls SET ended_at = now() WHERE id = $1", call["id"])
        await conn.execute("UPDATE supervision_requests SET status = 'done'")
    page = web.get(f"/calls/{call['id']}")
    assert 'id="call-supervision"' not in page.text
    # Refused on the form: the page again, 409, with the reason.
    r = web.post(f"/calls/{call['id']}/supervise", data={"csrf_token": csrf_from(page.text), "mode": "listen"})
    assert r.status_code == 409 and "the call has ended: there is nothing to listen to" in r.text


async def test_refusals_and_the_control_are_in_the_users_language(call, db, web):
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET language = 'ru' WHERE login IN ('olga', 'boss')")
    login(web, "olga")
    r = _post(web, call["id"], "listen")
    assert r.status_code == 403 and "only supervisors" not in r.json()["error"]
    assert any("а" <= ch <= "я" for ch in r.json()["error"])
    login(web, "boss")
    page = web.get(f"/calls/{call['id']}").text
    control = page[page.index('id="call-supervision"'):]
    assert "Прослушать" in control and "Вмешаться" in control and "Listen in" not in control
