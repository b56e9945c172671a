"""A call's page, /calls/{id} (issue 15), through HTTP: everything about the call, its recording for
those who may listen, its comment and counterparty changed after the call by those who may (CSRF),
the PBX's fields read-only; the same view answers JSON; a call the reader may not see is not found."""

import datetime as dt
import html
import json

import pytest

from crm.calls import queries as calls_q
from crm.calls import route
from crm.calls.route import Outcome
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.tasks import callbacks
from tests.helpers import csrf_from, login, make_user

CHANNEL = "1700000000.77"
CALLER = "89035556677"  # on nobody's card


@pytest.fixture
async def world(db, tmp_path):
    """Manager Alice's client Sokolov; operator Olga answered a call from CALLER (matched to Sokolov
    by hand), in queue Support after Alice did not answer; recorded. Oleg, Boris, Sveta look on."""
    people = {}
    for name, role in (("alice", "manager"), ("boris", "manager"), ("olga", "operator"), ("oleg", "operator"),
                       ("sveta", "supervisor")):
        people[name] = await make_user(db, name, role, full_name=name.title())
    async with db.acquire() as conn:
        people["client"] = await service.create(conn, people["alice"], CounterpartyInput(
            kind="client", last_name="Sokolov", responsible_user_id=people["alice"]["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
        people["other"] = await service.create(conn, people["olga"], CounterpartyInput(
            kind="client", last_name="Nobodys"), "RU")
        queue = await conn.fetchval("SELECT id FROM queues WHERE is_default")
        started = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.timezone.utc)
        people["call"] = await calls_q.insert_call(
            conn, channel_id=CHANNEL, direction="incoming", caller_number=CALLER, caller_normalized="+79035556677",
            caller_name="IVAN", called_number="74957654321", called_normalized="+74957654321", line="PJSIP/trunk",
            started_at=started, linked_id=CHANNEL, counterparty_id=people["client"])
        for step in (route.step("manager", "manager", Outcome("no_answer", {"seconds": 20}), name="Alice"),
                     route.step("queue", "queue", Outcome("answered_by", {"name": "Olga", "seconds": 7}),
                                name="Default", queue_id=queue)):
            await calls_q.append_route_step(conn, CHANNEL, step)
        await calls_q.mark_answered(conn, CHANNEL, started + dt.timedelta(seconds=27), people["olga"]["id"], queue)
        await calls_q.mark_ended(conn, CHANNEL, started + dt.timedelta(seconds=27 + 95), 16)
        audio = tmp_path / "call.mp3"
        audio.write_bytes(b"ID3" + bytes(500))
        people["recording"] = await conn.fetchval(
            "INSERT INTO recordings (call_id, path, format) VALUES ($1, $2, 'mp3') RETURNING id",
            people["call"], str(audio))
    return people


def _as(web, name):
    web.cookies.clear()
    login(web, name)


async def test_the_page_shows_everything_about_the_call_and_the_same_view_answers_json(web, world):
    _as(web, "olga")
    page = web.get(f"/calls/{world['call']}")
    assert page.status_code == 200
    text = page.text
    for shown in (f"Call #{world['call']}", CALLER, "IVAN", "74957654321", "PJSIP/trunk", "Olga", "Default",
                  "manager Alice did not answer in 20 s → queue Default: answered by Olga after 7 s",
                  "0:27", "1:35", "Sokolov"):
        assert shown in text, shown
    assert f'src="/recordings/{world["recording"]}"' in text
    assert 'id="call-comment"' in text and 'name="find"' in text
    assert 'id="call-legs"' not in text, "no legs: the slot shows nothing"
    # The caller's number is a click-to-call button (web/static/app.js dials its data-call); the number
    # called, our own line, is not.
    caller = text.split('<dd class="caller">')[1].split("</dd>")[0]
    assert f'<button type="button" class="call" data-call="{CALLER}" title="Call">{CALLER}</button>' in caller
    assert "data-call=" not in text.split('<dd class="called">')[1].split("</dd>")[0]

    for r in (web.get(f"/calls/{world['call']}.json"),
              web.get(f"/calls/{world['call']}", headers={"accept": "application/json"})):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        data = r.json()
        assert data["id"] == world["call"] and data["caller_number"] == CALLER and data["status"] == "answered"
        assert data["wait_seconds"] == 27 and data["talk_seconds"] == 95 and data["queue_name"] == "Default"
        assert data["route"].startswith("manager Alice did not answer") and data["legs"] == []
        assert data["recording_url"] == f"/recordings/{world['recording']}" and data["can_change"] is True
        assert "path" not in json.dumps(data) and "owner_user_id" not in data


async def test_an_onlooker_sees_the_call_but_may_neither_listen_nor_change_it(web, db, world):
    _as(web, "oleg")
    text = web.get(f"/calls/{world['call']}").text
    assert CALLER in text and "/recordings/" not in text and 'id="call-comment"' not in text
    assert web.get(f"/calls/{world['call']}.json").json()["recording_url"] is None
    r = web.post(f"/calls/{world['call']}/comment", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                          "comment": "mine"})
    assert r.status_code == 403 and "only the call's participants" in html.unescape(r.text)
    _as(web, "boris")
    r = web.post(f"/calls/{world['call']}/counterparty", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                               "counterparty_id": world["other"]})
    assert r.status_code == 403
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT comment, counterparty_id FROM calls WHERE id = $1", world["call"])
    assert row["comment"] == "" and row["counterparty_id"] == world["client"]


async def test_after_the_call_its_operator_rewrites_the_comment_and_attaches_it_elsewhere(web, db, world):
    _as(web, "olga")
    call = world["call"]
    page = web.get(f"/calls/{call}").text
    assert web.post(f"/calls/{call}/comment", data={"comment": "no token"}).status_code == 403
    r = web.post(f"/calls/{call}/comment", data={"csrf_token": csrf_from(page), "comment": "asked for a discount"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/calls/{call}"
    assert "asked for a discount" in web.get(f"/calls/{call}").text
    assert web.post(f"/calls/{call}/comment", data={"csrf_token": csrf_from(page), "comment": "x" * 2001}
                    ).status_code == 400

    found = web.get(f"/calls/{call}", params={"find": "Nobod"}).text
    assert 'id="call-found"' in found and "Nobodys" in found
    r = web.post(f"/calls/{call}/counterparty", data={"csrf_token": csrf_from(found), "counterparty_id": world["other"]},
                 follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT comment, counterparty_id FROM calls WHERE id = $1", call)
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'call' AND entity_id = $1", call)
        learned = await conn.fetchval("SELECT count(*) FROM contacts WHERE counterparty_id = $1 AND normalized = $2",
                                      world["other"], "+79035556677")
    assert row["comment"] == "asked for a discount" and row["counterparty_id"] == world["other"]
    assert audited == 2 and learned == 1, "audited; the number learned by the card"
    text = web.get(f"/calls/{call}").text
    assert f'href="/counterparties/{world["other"]}"' in text
    r = web.post(f"/calls/{call}/counterparty", data={"csrf_token": csrf_from(found), "counterparty_id": 999999})
    assert r.status_code == 404 and "no counterparty 999999" in r.text and f"Call #{call}" in r.text


async def test_a_call_one_may_not_see_is_not_found_and_the_lists_link_to_the_page(web, db, world):
    _as(web, "oleg")
    assert web.get("/calls/999999").status_code == 404
    assert web.get("/calls/999999.json").status_code == 404
    call = world["call"]
    assert f'href="/calls/{call}"' in web.get("/calls").text
    assert f'href="/calls/{call}"' in web.get(f"/counterparties/{world['client']}").text
    async with db.acquire() as conn:
        await conn.execute("UPDATE counterparties SET deleted_at = now() WHERE id = $1", world["client"])
    assert web.get(f"/calls/{call}").status_code == 404
    assert web.post(f"/calls/{call}/comment", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                    "comment": "x"}).status_code == 404
    for name in ("olga", "sveta"):  # its operator, a supervisor
        _as(web, name)
        assert web.get(f"/calls/{call}").status_code == 200, name


async def test_a_strangers_call_offers_a_card_and_shows_its_callback_task(web, db, world):
    async with db.acquire() as conn:
        stranger = await calls_q.insert_call(
            conn, channel_id="st.1", direction="incoming", caller_number="+7 916 000-11-22",
            caller_normalized="+79160001122", caller_name="", called_number="74957654321",
            called_normalized="+74957654321", line="PJSIP/trunk", started_at=dt.datetime.now(dt.timezone.utc),
            linked_id="st.1")
        await calls_q.mark_ended(conn, "st.1", dt.datetime.now(dt.timezone.utc), 16)
        task = await callbacks.create_for_stranger(conn, number="+7 916 000-11-22", reason="missed", call_id=stranger)
    _as(web, "sveta")
    text = web.get(f"/calls/{stranger}").text
    assert "The call is on no card." in text and "phones=%2B7%20916%20000-11-22" in text
    assert f'href="/tasks/{task}"' in text and "queue Default" in text
    task_page = web.get(f"/tasks/{task}").text
    assert f'href="/calls/{stranger}"' in task_page


async def test_an_outgoing_calls_number_called_is_the_click_to_call_button(web, db, world):
    async with db.acquire() as conn:
        out = await calls_q.insert_call(
            conn, channel_id="out.1", direction="outgoing", caller_number="201", caller_normalized="201",
            caller_name="", called_number="+7 916 000-33-44", called_normalized="+79160003344",
            line="PJSIP/trunk", started_at=dt.datetime.now(dt.timezone.utc), linked_id="out.1")
    _as(web, "sveta")
    text = web.get(f"/calls/{out}").text
    called = text.split('<dd class="called">')[1].split("</dd>")[0]
    assert 'data-call="+7 916 000-33-44"' in called and "<button" in called
    assert "data-call=" not in text.split('<dd class="caller">')[1].split("</dd>")[0], "our extension is not"
