"""Transfers asked for in the web UI (issue 15): POST /api/calls/channel/{channel}/transfer and
/api/calls/{id}/transfer - the rights, the call's state, the target - and what the Stasis app is
told (transfer_requests and a NOTIFY pbxcrm_transfers); the targets and a request's status.
The app's side is tests/test_call_flow_transfers.py; the pop in Chromium, tests/test_transfer_sipp.py."""

import asyncio
import datetime as dt

import asyncpg
import pytest

from crm.transfers import CHANNEL
from tests.helpers import login, make_user


@pytest.fixture
async def call(db):
    """The client's call, answered by Olga (ext 105): she talks on it now."""
    olga = await make_user(db, "olga", "operator", full_name="Olga Orlova", extension="105")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov", extension="103")
    await make_user(db, "boss", "supervisor", full_name="Big Boss")
    await make_user(db, "nophone", "operator", full_name="No Phone")
    now = dt.datetime.now(dt.timezone.utc)
    async with db.acquire() as conn:
        call_id = await conn.fetchval(
            """INSERT INTO calls (channel_id, direction, caller_number, started_at, answered_at, status,
                                  operator_user_id)
               VALUES ('1700000000.7', 'incoming', '+74951234567', $1, $1, 'answered', $2) RETURNING id""",
            now, olga["id"])
        await conn.execute("INSERT INTO call_legs (call_id, position, user_id, name, answered_at) "
                           "VALUES ($1, 1, $2, 'Olga Orlova', $3)", call_id, olga["id"], now)
        support = await conn.fetchval("INSERT INTO queues (name) VALUES ('Support') RETURNING id")
    return {"id": call_id, "channel": "1700000000.7", "olga": olga, "petrov": petrov, "support": support}


def _transfer(web, url: str, body: dict, csrf: bool = True):
    headers = {"x-csrf-token": web.cookies["pbxcrm_csrf"]} if csrf else {}
    return web.post(url, json=body, headers=headers)


async def _requests(db) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return await conn.fetch("SELECT * FROM transfer_requests ORDER BY id")


async def test_the_operator_on_the_call_transfers_it_to_a_queue_and_the_app_is_told(call, db, web, database_url):
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(CHANNEL, lambda _c, _p, _ch, payload: heard.append(payload))
    try:
        login(web, "olga")
        r = _transfer(web, f"/api/calls/channel/{call['channel']}/transfer", {"queue_id": call["support"]})
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
    assert (row["call_id"], row["channel_id"], row["requested_by"], row["target_kind"], row["target_queue_id"],
            row["status"]) == (call["id"], call["channel"], call["olga"]["id"], "queue", call["support"], "pending")
    async with db.acquire() as conn:
        audit = await conn.fetchrow("SELECT * FROM audit_log WHERE entity = 'call' AND action = 'transfer'")
    assert audit["entity_id"] == call["id"] and audit["user_id"] == call["olga"]["id"]
    status = web.get(f"/api/transfers/{request_id}")
    assert status.json() == {"id": request_id, "status": "pending", "error": None}


async def test_to_a_user_or_a_number_by_the_calls_id(call, db, web):
    login(web, "olga")
    assert _transfer(web, f"/api/calls/{call['id']}/transfer", {"user_id": call["petrov"]["id"]}).status_code == 202
    assert _transfer(web, f"/api/calls/{call['id']}/transfer", {"number": "8 (495) 111-22-33"}).status_code == 202
    rows = await _requests(db)
    assert [(r["target_kind"], r["target_user_id"], r["target_number"]) for r in rows] == [
        ("user", call["petrov"]["id"], None), ("number", None, "74951112233")]


async def test_only_the_operator_talking_supervisors_and_admins_transfer(call, db, web):
    login(web, "petrov")
    r = _transfer(web, f"/api/calls/{call['id']}/transfer", {"queue_id": call["support"]})
    assert r.status_code == 403
    assert r.json()["error"] == "only the operator on the call, supervisors and admins may transfer it"
    login(web, "boss")
    assert _transfer(web, f"/api/calls/{call['id']}/transfer", {"queue_id": call["support"]}).status_code == 202
    # The status of someone else's request is nobody else's business.
    request_id = (await _requests(db))[0]["id"]
    login(web, "petrov")
    assert web.get(f"/api/transfers/{request_id}").status_code == 404


async def test_no_csrf_no_transfer(call, db, web):
    login(web, "olga")
    r = _transfer(web, f"/api/calls/{call['id']}/transfer", {"queue_id": call["support"]}, csrf=False)
    assert r.status_code == 403 and await _requests(db) == []


async def test_a_call_not_being_talked_on_or_placed_by_a_user_is_a_conflict_with_the_reason(call, db, web):
    login(web, "boss")
    url = f"/api/calls/{call['id']}/transfer"
    async with db.acquire() as conn:
        await conn.execute("UPDATE calls SET direction = 'outgoing' WHERE id = $1", call["id"])
    r = _transfer(web, url, {"queue_id": call["support"]})
    assert r.status_code == 409 and r.json()["error"].startswith("calls placed by a user are not transferred")
    async with db.acquire() as conn:
        await conn.execute("UPDATE calls SET direction = 'incoming', ended_at = now() WHERE id = $1", call["id"])
    r = _transfer(web, url, {"queue_id": call["support"]})
    assert r.status_code == 409 and r.json()["error"] == "the call has ended"
    assert _transfer(web, "/api/calls/channel/nosuch/transfer", {"queue_id": 1}).status_code == 404
    assert await _requests(db) == []


async def test_the_target_must_be_one_live_user_queue_or_number(call, db, web):
    login(web, "olga")
    url = f"/api/calls/{call['id']}/transfer"
    nophone = await make_user(db, "blocked", "operator", full_name="Gone", extension="109")
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET is_blocked = true WHERE id = $1", nophone["id"])
    cases = [({}, "to"), ({"user_id": call["petrov"]["id"], "queue_id": call["support"]}, "to"),
             ({"user_id": nophone["id"]}, "user_id"), ({"queue_id": 99999}, "queue_id"),
             ({"number": "call me"}, "number"), ({"user_id": "x"}, "user_id")]
    for body, field in cases:
        r = _transfer(web, url, body)
        assert r.status_code == 400 and field in r.json()["errors"], (body, r.text)
    r = _transfer(web, url, {"user_id": call["olga"]["id"]})
    assert r.status_code == 409 and r.json()["error"] == "the call is already with this user"
    assert await _requests(db) == []


async def test_the_targets_offered_are_active_users_with_a_phone_and_live_queues(call, db, web):
    login(web, "olga")
    body = web.get("/api/transfer-targets").json()
    assert [u["name"] for u in body["users"]] == ["Olga Orlova", "Pavel Petrov"]
    assert "Support" in [q["name"] for q in body["queues"]] and "Default" in [q["name"] for q in body["queues"]]


async def test_refusals_are_in_the_users_language(call, db, web):
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET language = 'ru' WHERE login = 'petrov'")
    login(web, "petrov")
    r = _transfer(web, f"/api/calls/{call['id']}/transfer", {"queue_id": call["support"]})
    assert r.status_code == 403 and "only the operator" not in r.json()["error"]
    assert any("а" <= ch <= "я" for ch in r.json()["error"])


async def test_the_calls_page_lists_who_talked_and_offers_the_transfer_to_whom_may(call, db, web):
    from tests.helpers import csrf_from

    async with db.acquire() as conn:  # Petrov talked first, then transferred the call to Olga from the web
        await conn.execute("UPDATE call_legs SET position = 2, how = 'web', transferred_by = $2 WHERE call_id = $1",
                           call["id"], call["petrov"]["id"])
        await conn.execute("""INSERT INTO call_legs (call_id, position, user_id, name, answered_at, ended_at)
                              VALUES ($1, 1, $2, 'Pavel Petrov', now() - interval '65 seconds',
                                      now() - interval '5 seconds')""", call["id"], call["petrov"]["id"])
    login(web, "olga")
    page = web.get(f"/calls/{call['id']}")
    assert page.status_code == 200
    legs = page.text[page.text.index('id="call-legs-table"'):page.text.index("</table>", page.text.index("call-legs"))]
    assert legs.index("Pavel Petrov") < legs.index("Olga Orlova")
    assert "1:00" in legs, legs  # Petrov talked 60 s
    assert "transfer from the web" in legs and "talking" in legs
    form = page.text[page.text.index('id="call-transfer"'):]
    assert f'value="user:{call["petrov"]["id"]}"' in form and f'value="user:{call["olga"]["id"]}"' not in form
    assert f'value="queue:{call["support"]}"' in form
    r = web.post(f"/calls/{call['id']}/transfer", data={"csrf_token": csrf_from(page.text), "to": f"queue:{call['support']}"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/calls/{call['id']}"
    bad = web.post(f"/calls/{call['id']}/transfer", data={"csrf_token": csrf_from(page.text), "to": "number:",
                                                           "number": "call me"})
    assert bad.status_code == 400 and 'id="call-transfer"' in bad.text
    assert [(r["target_kind"], r["target_queue_id"]) for r in await _requests(db)] == [("queue", call["support"])]
    data = web.get(f"/calls/{call['id']}.json").json()
    assert data["can_transfer"] is True and [leg["name"] for leg in data["legs"]] == ["Pavel Petrov", "Olga Orlova"]
    assert data["legs"][1]["how"] == "web" and data["legs"][0]["talk_seconds"] is not None

    login(web, "petrov")  # talked on it, may see it, but is not on it now: no transfer
    page = web.get(f"/calls/{call['id']}")
    assert page.status_code == 200 and 'id="call-legs-table"' in page.text and 'id="call-transfer"' not in page.text
    assert web.get(f"/calls/{call['id']}.json").json()["can_transfer"] is False
