"""Voicemails and callback requests in the CRM (issue 15): the decisions on their own, the admin's
settings (a queue's offer, a line's voicemail route), and who may play a voicemail - on the card,
the task page and the file itself - as the web app answers them."""

from __future__ import annotations

import datetime as dt

import pytest

from crm import i18n
from crm.calls import queries as calls_q
from crm.calls import rule_queries
from crm.calls.route import Outcome, route_text, step
from crm.calls.rules import LISTEN, Rule
from crm.lines import queries as lines_q
from crm.voicemails import service
from crm.voicemails.model import can_play, offers_callback, offers_voicemail, verdict
from tests.fake_ari import tone_wav
from tests.helpers import login, make_user


def test_what_a_queues_offer_includes():
    assert [(offers_callback(o), offers_voicemail(o)) for o in ("callback", "voicemail", "both")] == [
        (True, False), (False, True), (True, True)]


@pytest.mark.parametrize(("seconds", "peak", "code"), [
    (0.0, 0, "voicemail_too_short"), (0.99, 4000, "voicemail_too_short"), (1.0, 0, "voicemail_silent"),
    (30.0, 0, "voicemail_silent"), (1.0, 1, "voicemail_left"), (12.4, 9000, "voicemail_left")])
def test_a_message_under_a_second_or_silent_is_not_kept(seconds, peak, code):
    assert verdict(seconds, peak).code == code


def test_who_may_play_a_voicemail():
    call = {"operator_user_id": None, "caller_user_id": None, "owner_user_id": 6}
    assert can_play({"id": 1, "role": "supervisor"}, call, [])
    assert can_play({"id": 6, "role": "manager"}, call, []), "the client's manager, as for recordings"
    assert can_play({"id": 7, "role": "operator"}, call, [7]), "the task's people, the queue's members"
    assert not can_play({"id": 8, "role": "operator"}, call, [7])
    assert not can_play({"id": 8, "role": "manager"}, call, [])


def test_the_offers_route_steps_read_in_russian():
    steps = [step("queue", "queue", Outcome("nobody_answered", {"seconds": 20}), name="Sales"),
             step("note", "nothing", Outcome("voicemail_left", {"seconds": 7}))]
    assert route_text(steps) == "queue Sales: nobody answered in 20 s → voicemail left (7 s)"
    with i18n.using("ru"):
        assert route_text(steps) == "очередь Sales: никто не ответил за 20 с → оставлено голосовое сообщение (7 с)"
        assert route_text([step("note", "nothing", Outcome("callback_requested"))]) == "запрошен обратный звонок"


# ---- the admin's settings ----

async def test_an_admin_chooses_what_a_queue_offers_and_a_wrong_choice_is_refused(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    form = {"csrf_token": token, "name": "Sales", "strategy": "ringall", "ring_seconds": "15",
            "max_wait_seconds": "60", "moh_class": "default"}
    assert web.post("/admin/queues", data={**form, "offer": "callback"}, follow_redirects=False).status_code == 303
    async with db.acquire() as conn:
        queue_id, offer = await conn.fetchrow("SELECT id, offer FROM queues WHERE name = 'Sales'")
    assert offer == "callback"
    page = web.get(f"/admin/queues/{queue_id}").text
    assert '<option value="callback" selected>press 1 to be called back</option>' in page
    assert "press 1 to be called back, or voicemail" in web.get("/admin/queues").text, "the default queue's"
    r = web.post(f"/admin/queues/{queue_id}", data={**form, "offer": "hangup"})
    assert r.status_code == 400 and "must be a callback, voicemail or both" in r.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT offer FROM queues WHERE id = $1", queue_id) == "callback"


async def test_a_line_routes_to_voicemail_in_and_out_of_hours(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    assert 'value="voicemail"' in web.get("/admin/lines/new").text
    r = web.post("/admin/lines", data={"csrf_token": token, "name": "Night", "did": "74957770001", "trunk": "trunk",
                                       "route_kind": "voicemail", "hours_enabled": "on",
                                       "after_hours_kind": "voicemail"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        (line,) = await lines_q.load_lines(conn)
    assert (line.route.kind, line.route.queue, line.after_hours.kind) == ("voicemail", None, "voicemail")
    row = web.get("/admin/lines").text.split(f'data-line="{line.id}"')[1].split("</tr>")[0]
    assert row.count("voicemail") == 2
    r = web.post("/admin/lines", data={"csrf_token": token, "name": "Bad", "did": "74957770002", "trunk": "trunk",
                                       "route_kind": "ivr-of-doom"})
    assert r.status_code == 400 and "is not a route a line can take" in r.text


async def test_an_ivr_menus_key_and_timeout_may_route_to_voicemail(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    assert '<option value="voicemail">voicemail</option>' in web.get("/admin/ivr/new").text
    r = web.post("/admin/ivr", data={"csrf_token": token, "name": "Night", "prompt": "sound:basic-pbx-ivr-main",
                                     "timeout_seconds": "5", "replays": "1", "timeout_route": "voicemail",
                                     "key_3": "voicemail"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        menu = await conn.fetchrow("SELECT id, timeout_kind FROM ivr_menus")
        keys = await conn.fetch("SELECT digit, kind FROM ivr_options")
    assert menu["timeout_kind"] == "voicemail" and [(k["digit"], k["kind"]) for k in keys] == [("3", "voicemail")]
    row = web.get("/admin/ivr").text.split(f'data-menu="{menu["id"]}"')[1].split("</tr>")[0]
    assert "3 → voicemail" in row


# ---- playing a voicemail ----

async def _call_with_voicemail(db, tmp_path, *, counterparty_id: int | None, owner: int | None, queue_id: int | None,
                               number: str = "+74997654321") -> tuple[int, int]:
    """A missed call that left a 2 s voicemail, stored as the call path stores it: (voicemail, task or 0)."""
    path = tmp_path / "vm.wav"
    path.write_bytes(tone_wav(2.0))
    async with db.acquire() as conn:
        await calls_q.insert_call(conn, channel_id="1.1", direction="incoming", caller_number=number,
                                  caller_normalized=None, caller_name="", called_number="74957770000",
                                  called_normalized=None, line="PJSIP/trunk",
                                  started_at=dt.datetime.now(dt.timezone.utc), linked_id=None,
                                  counterparty_id=counterparty_id, owner_user_id=owner)
        voicemail = await service.voicemail_kept(conn, channel_id="1.1", path=str(path), fmt="wav", seconds=2.0,
                                                 size=path.stat().st_size, queue_id=queue_id, timezone="Europe/Moscow")
        task = await conn.fetchval("SELECT task_id FROM voicemails WHERE id = $1", voicemail)
    return voicemail, task or 0


async def test_a_clients_voicemail_plays_on_the_card_and_the_task_for_its_people_only(web, db, crm, tmp_path):
    await make_user(db, "olga", "operator", full_name="Olga Other", extension="105")
    voicemail, task = await _call_with_voicemail(db, tmp_path, counterparty_id=crm["client"],
                                                 owner=crm["ivanova"]["id"], queue_id=crm["queue"],
                                                 number="+74951234567")
    assert task, "a callback task for the client's manager"
    async with db.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM calls")
    assert status == "voicemail"
    login(web, "ivanova")
    card = web.get(f"/counterparties/{crm['client']}").text
    assert f'data-voicemail="{voicemail}"' in card and "Voicemail, 2 s" in card
    assert f'data-listened="/voicemails/{voicemail}/listened"' in card, "not listened to yet"
    audio = web.get(f"/voicemails/{voicemail}")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert web.get(f"/voicemails/{voicemail}", headers={"Range": "bytes=0-99"}).status_code == 206
    assert f'data-voicemail="{voicemail}"' in web.get(f"/tasks/{task}").text
    async with db.acquire() as conn:
        call_id = await conn.fetchval("SELECT id FROM calls")
    assert f'data-voicemail="{voicemail}"' in web.get(f"/calls/{call_id}").text, "the call's page"
    assert web.get(f"/calls/{call_id}.json").json()["voicemail_url"] == f"/voicemails/{voicemail}"
    # The player starting says it is listened to (app.js POSTs with the CSRF header; a form without it fails).
    assert web.post(f"/voicemails/{voicemail}/listened").status_code == 403
    assert web.post(f"/voicemails/{voicemail}/listened",
                    headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]}).status_code == 200
    async with db.acquire() as conn:
        listened = await conn.fetchrow("SELECT listened_at, listened_by FROM voicemails")
    assert listened["listened_at"] is not None and listened["listened_by"] == crm["ivanova"]["id"]
    assert "data-listened" not in web.get(f"/counterparties/{crm['client']}").text

    web.cookies.clear()
    login(web, "olga")  # Petrov's queue is not Olga's, and the client is not hers
    assert f'data-voicemail="{voicemail}"' not in web.get(f"/counterparties/{crm['client']}").text
    assert web.get(f"/voicemails/{voicemail}").status_code == 403
    assert f'data-voicemail="{voicemail}"' not in web.get(f"/tasks/{task}").text
    page = web.get(f"/calls/{call_id}")  # hers to see or not: never with the voicemail
    assert page.status_code == 404 or f'data-voicemail="{voicemail}"' not in page.text
    assert web.post(f"/voicemails/{voicemail}/listened",
                    headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]}).status_code == 403
    assert web.get("/voicemails/999999").status_code == 404


async def test_a_strangers_voicemail_plays_for_the_queues_members(web, db, crm, tmp_path):
    await make_user(db, "olga", "operator", full_name="Olga Other", extension="105")
    voicemail, _task = await _call_with_voicemail(db, tmp_path, counterparty_id=None, owner=None,
                                                  queue_id=crm["queue"])
    async with db.acquire() as conn:
        task = await conn.fetchrow("SELECT * FROM tasks")
    assert (task["queue_id"], task["responsible_user_id"]) == (crm["queue"], None), "the queue's task"
    login(web, "petrov")  # a member of the queue the caller waited in
    assert web.get(f"/voicemails/{voicemail}").status_code == 200
    unknown = web.get("/callers/unknown").text
    assert f'data-voicemail="{voicemail}"' in unknown and f'href="/tasks/{task["id"]}"' in unknown
    assert "from +74997654321, 2 s" in unknown
    assert f'data-voicemail="{voicemail}"' in web.get(f"/tasks/{task['id']}").text
    web.cookies.clear()
    login(web, "olga")
    assert web.get(f"/voicemails/{voicemail}").status_code == 403
    assert f'data-voicemail="{voicemail}"' not in web.get("/callers/unknown").text


async def test_playing_a_voicemail_in_the_browser_marks_it_listened(db, crm, web_server, chromium, tmp_path):
    from tests.browser import logged_in_page
    from tests.helpers import PASSWORD

    voicemail, _task = await _call_with_voicemail(db, tmp_path, counterparty_id=crm["client"],
                                                  owner=crm["ivanova"]["id"], queue_id=crm["queue"],
                                                  number="+74951234567")
    page = await logged_in_page(chromium, web_server.url, "ivanova", PASSWORD)
    await page.goto(f"{web_server.url}/counterparties/{crm['client']}")
    player = page.locator(f'audio[data-voicemail="{voicemail}"]')
    assert await player.get_attribute("data-listened") == f"/voicemails/{voicemail}/listened"
    await player.evaluate("a => { a.muted = true; return a.play(); }")
    await page.wait_for_selector(f'audio[data-voicemail="{voicemail}"].listened')
    async with db.acquire() as conn:
        listened = await conn.fetchrow("SELECT listened_at, listened_by FROM voicemails WHERE id = $1", voicemail)
    assert listened["listened_at"] is not None and listened["listened_by"] == crm["ivanova"]["id"]
    await page.context.close()


async def test_a_voicemail_follows_the_admins_call_rules(web, db, crm, tmp_path):
    """The voicemail's call is judged by the admin's listen rules (issue 17), like its recordings; the
    people the message is for (its task's) keep it whatever the rules, since it is theirs to answer."""
    await make_user(db, "olga", "operator", full_name="Olga Other", extension="105")
    sveta = await make_user(db, "sveta", "supervisor", full_name="Sveta Super")
    voicemail, task = await _call_with_voicemail(db, tmp_path, counterparty_id=crm["client"],
                                                 owner=crm["ivanova"]["id"], queue_id=crm["queue"])

    def plays(who: str) -> int:
        web.cookies.clear()
        login(web, who)
        return web.get(f"/voicemails/{voicemail}").status_code

    assert [plays(who) for who in ("sveta", "olga", "ivanova")] == [200, 403, 200], "today's rules"
    async with db.acquire() as conn:
        await rule_queries.save(conn, sveta["id"], None, Rule(
            action=LISTEN, effect="deny", roles=frozenset({"supervisor"}), directions=frozenset({"incoming"}),
            position=1, note="supervisors do not hear incoming calls"))
        await rule_queries.save(conn, sveta["id"], None, Rule(
            action=LISTEN, effect="allow", roles=frozenset({"operator"}), position=2, note="operators hear all"))
    assert [plays(who) for who in ("sveta", "olga", "ivanova")] == [403, 200, 200]
    login(web, "olga")
    assert f'data-voicemail="{voicemail}"' in web.get(f"/counterparties/{crm['client']}").text
    web.cookies.clear()
    login(web, "sveta")
    assert f'data-voicemail="{voicemail}"' not in web.get(f"/tasks/{task}").text
