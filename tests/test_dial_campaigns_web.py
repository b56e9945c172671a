"""Dial campaign pages through HTTP (issue 22): the form's clear errors (nothing typed is lost), a
campaign created and changed (audited), start/pause/resume/cancel each NOTIFYing the dialer's channel,
rights for every role (a customer and an agent not on the campaign see nothing; an agent on it sees
but does not move it), and the dashboard's figures from seeded numbers and attempts."""

import asyncio

import pytest

from crm.outbound import campaigns, dashboard
from tests.helpers import log_in_as, make_user, post_form

FORM = {"name": "Winter calls", "mode": "predictive", "takers": "agents", "window_from": "9", "window_to": "20",
        "timezone": "", "drop_limit": "2.5", "max_ratio": "2", "ring_seconds": "30", "machine_action": "hangup",
        "retry_busy_attempts": "4", "retry_busy_after": "15", "retry_no_answer_attempts": "2",
        "retry_no_answer_after": "90", "retry_machine_attempts": "1", "retry_machine_after": "240",
        "retry_failed_attempts": "2", "retry_failed_after": "30", "amd": "on", "amd_greeting": "1800"}


@pytest.fixture
async def world(db):
    w = {n: await make_user(db, n, role, full_name=full) for n, role, full in (
        ("boris", "supervisor", "Boris Bossov"), ("olga", "operator", "Olga Otvetova"),
        ("oleg", "operator", "Oleg Other"), ("irina", "manager", "Irina Menedzherova"),
        ("adam", "admin", "Adam Adminov"), ("kira", "operator", "Kira Klientova"))}
    async with db.acquire() as conn:
        customer = await conn.fetchval("INSERT INTO customers (name) VALUES ('Romashka') RETURNING id")
        await conn.execute("UPDATE users SET role = 'customer', customer_id = $2 WHERE id = $1", w["kira"]["id"],
                           customer)
        w["order"] = await conn.fetchval(
            "INSERT INTO orders (customer_id, name) VALUES ($1, 'Romashka survey') RETURNING id", customer)
        w["queue"] = await conn.fetchval("INSERT INTO queues (name) VALUES ('Sales') RETURNING id")
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", w["queue"],
                           w["oleg"]["id"])
    return w


def _create(web, world, **changes):
    data = {**FORM, "agent_ids": [str(world["olga"]["id"]), str(world["irina"]["id"])],
            "order_id": str(world["order"]), **changes}
    return post_form(web, "/dial-campaigns", data)


class Listener:
    """LISTEN on the dialer's channel: the payloads NOTIFYed since the last take()."""

    def __init__(self):
        self.payloads: list[str] = []

    def __call__(self, conn, pid, channel, payload):
        self.payloads.append(payload)

    async def take(self, count: int) -> list[str]:
        for _ in range(100):
            if len(self.payloads) >= count:
                break
            await asyncio.sleep(0.02)
        out, self.payloads = self.payloads, []
        return out


@pytest.fixture
async def notified(db):
    listener = Listener()
    async with db.acquire() as conn:
        await conn.add_listener(campaigns.CHANNEL, listener)
        yield listener
        await conn.remove_listener(campaigns.CHANNEL, listener)


async def test_form_errors_then_create_edit_and_moves_notified(web, world, db, notified):
    log_in_as(web, "boris")
    assert web.get("/dial-campaigns/new").status_code == 200
    bad = _create(web, world, name="", mode="robocall", window_from="22", window_to="8", drop_limit="70",
                  retry_busy_attempts="0", amd_greeting="5", timezone="Mars/Olympus")
    assert bad.status_code == 400
    page = bad.text
    for message in ("a campaign name is 1 to 200 characters", "choose a dial mode",
                    "calling hours run from 0 to 24, the start before the end", "no such time zone",
                    "a drop limit is a percentage above 0 and at most 50", "from 1 to 20 attempts",
                    "from 10 to 30000"):
        assert message in page, message
    assert 'name="retry_busy_after" min="1" max="10080" value="15"' in page  # what was typed is kept
    assert f'value="{world["olga"]["id"]}" checked' in page
    queue_missing = _create(web, world, takers="queue")
    assert queue_missing.status_code == 400 and "choose a queue" in queue_missing.text
    assert await notified.take(0) == []

    r = _create(web, world)
    assert r.status_code == 303, r.text
    campaign_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert await notified.take(1) == [str(campaign_id)]
    data = web.get(f"/api/dial-campaigns/{campaign_id}").json()
    c = data["campaign"]
    assert (c["name"], c["mode"], c["status"], c["order_id"], c["window_to"]) == (
        "Winter calls", "predictive", "draft", world["order"], 20)
    assert float(c["drop_limit"]) == 2.5 and c["amd"] is True and c["amd_settings"]["greeting"] == 1800
    assert c["retry_rules"]["busy"] == {"attempts": 4, "after_minutes": 15}
    assert sorted(c["agent_ids"]) == sorted([world["olga"]["id"], world["irina"]["id"]])
    assert "Winter calls" in web.get("/dial-campaigns").text

    edit = web.get(f"/dial-campaigns/{campaign_id}/edit").text
    assert 'value="2.5"' in edit and 'name="amd" checked' in edit
    r = post_form(web, f"/dial-campaigns/{campaign_id}", {**FORM, "name": "Winter calls 2", "takers": "queue",
                                                      "queue_id": str(world["queue"]), "amd": ""})
    assert r.status_code == 303, r.text
    assert await notified.take(1) == [str(campaign_id)]
    c = web.get(f"/dial-campaigns/{campaign_id}.json").json()["campaign"]
    assert (c["name"], c["queue_id"], c["amd"], c["agent_ids"]) == ("Winter calls 2", world["queue"], False,
                                                                   [world["oleg"]["id"]])
    # Now the queue's members take its calls: Oleg (a member) sees it, Olga (no longer named) does not.
    log_in_as(web, "oleg")
    assert web.get(f"/dial-campaigns/{campaign_id}").status_code == 200
    assert [i["id"] for i in web.get("/api/dial-campaigns").json()["items"]] == [campaign_id]
    log_in_as(web, "olga")
    assert web.get(f"/dial-campaigns/{campaign_id}").status_code == 404
    assert web.get("/api/dial-campaigns").json()["total"] == 0
    log_in_as(web, "boris")

    assert post_form(web, f"/dial-campaigns/{campaign_id}/pause").status_code == 409  # a draft does not pause
    for action, status in (("start", "running"), ("pause", "paused"), ("resume", "running"), ("cancel", "cancelled")):
        r = post_form(web, f"/dial-campaigns/{campaign_id}/{action}")
        assert r.status_code == 303, (action, r.text)
        assert await notified.take(1) == [str(campaign_id)], action
        assert web.get(f"/api/dial-campaigns/{campaign_id}").json()["campaign"]["status"] == status
    assert post_form(web, f"/dial-campaigns/{campaign_id}/resume").status_code == 409
    assert post_form(web, f"/dial-campaigns/{campaign_id}", {**FORM}).status_code == 409  # finished: not changed
    assert web.post(f"/dial-campaigns/{campaign_id}/start", follow_redirects=False).status_code == 403  # no CSRF
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT action, changes FROM audit_log WHERE entity = 'dial_campaign' "
                                "AND entity_id = $1 ORDER BY id", campaign_id)
    assert [r["action"] for r in rows] == ["create", "update", "start", "pause", "resume", "cancel"]
    assert "queue_id" in rows[1]["changes"] and "Winter calls 2" in rows[1]["changes"]
    audit_page = web.get(f"/dial-campaigns/{campaign_id}")
    assert audit_page.status_code == 200


async def test_a_campaign_without_agents_does_not_start(web, world):
    log_in_as(web, "adam")
    r = _create(web, world, agent_ids=[])
    campaign_id = int(r.headers["location"].rsplit("/", 1)[1])
    r = post_form(web, f"/dial-campaigns/{campaign_id}/start")
    assert r.status_code == 409 and "the campaign has no agents" in r.text


async def test_rights_for_every_role(web, world):
    log_in_as(web, "boris")
    campaign_id = int(_create(web, world).headers["location"].rsplit("/", 1)[1])
    pages = [f"/dial-campaigns/{campaign_id}", f"/api/dial-campaigns/{campaign_id}",
             f"/dial-campaigns/{campaign_id}.json"]
    # Olga is on it: sees the page and the dashboard, does not change or move it.
    log_in_as(web, "olga")
    assert "Winter calls" in web.get("/dial-campaigns").text
    assert [i["id"] for i in web.get("/api/dial-campaigns").json()["items"]] == [campaign_id]
    assert "Dial campaigns" in web.get("/dial-campaigns").text  # the nav link
    for page in pages:
        assert web.get(page).status_code == 200, page
    assert "Start" not in web.get(pages[0]).text
    assert web.get("/dial-campaigns/new").status_code == 403
    assert web.get(f"/dial-campaigns/{campaign_id}/edit").status_code == 403
    assert post_form(web, f"/dial-campaigns/{campaign_id}/start").status_code == 403
    assert post_form(web, f"/api/dial-campaigns/{campaign_id}/start").status_code == 403
    assert post_form(web, f"/dial-campaigns/{campaign_id}", FORM).status_code == 403
    assert _create(web, world).status_code == 403
    # Oleg is not on it: nothing of it, as if it did not exist.
    log_in_as(web, "oleg")
    assert "Winter calls" not in web.get("/dial-campaigns").text
    assert web.get("/api/dial-campaigns").json() == {"items": [], "total": 0}
    for page in [*pages, f"/dial-campaigns/{campaign_id}/edit"]:
        assert web.get(page).status_code == 404, page
    assert post_form(web, f"/dial-campaigns/{campaign_id}/start").status_code == 404
    assert post_form(web, f"/dial-campaigns/{campaign_id}", FORM).status_code == 404
    # A customer: no campaigns at all, no link; outside its routes the site does not exist (web/customer_access.py).
    log_in_as(web, "kira")
    assert web.get("/dial-campaigns").status_code == 404
    assert web.get("/api/dial-campaigns").status_code == 404
    for page in [*pages, f"/dial-campaigns/{campaign_id}/edit"]:
        assert web.get(page).status_code == 404, page
    assert post_form(web, f"/dial-campaigns/{campaign_id}/pause").status_code == 404
    assert _create(web, world).status_code == 404
    account = web.get("/account")
    assert account.status_code == 200 and "Dial campaigns" not in account.text
    # An admin sees and moves every campaign.
    log_in_as(web, "adam")
    assert web.get(pages[1]).json()["actions"] == ["start", "cancel"]
    r = web.post(f"/api/dial-campaigns/{campaign_id}/start", headers={"X-CSRF-Token": web.cookies["pbxcrm_csrf"]})
    assert r.status_code == 200 and r.json()["status"] == "running"


async def test_dashboard_figures_from_seeded_attempts(web, world, db):
    log_in_as(web, "boris")
    campaign_id = int(_create(web, world, drop_limit="3").headers["location"].rsplit("/", 1)[1])
    async with db.acquire() as conn:
        numbers = {}
        for i, (status, skip) in enumerate([("pending", ""), ("pending", ""), ("dialing", ""), ("dialing", ""),
                                            ("done", ""), ("done", ""), ("done", ""), ("skipped", "dnc"),
                                            ("skipped", "dnc"), ("skipped", "invalid_number")]):
            numbers[i] = await conn.fetchval(
                "INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, status, skip_reason) "
                "VALUES ($1, $2, $2, $3, $4) RETURNING id", campaign_id, f"+7916555000{i}", status, skip)
        # 20 answered (one of them dropped: 1/20 = 5% > 3%), 3 busy, 2 no answer, 1 machine; two ringing,
        # one answered and being bridged to Olga (she is busy; Irina paused).
        outcomes = ["answered"] * 19 + ["dropped"] + ["busy"] * 3 + ["no_answer"] * 2 + ["machine"]
        for outcome in outcomes:
            await conn.execute("INSERT INTO dial_attempts (campaign_id, number_id, outcome, ended_at) "
                               "VALUES ($1, $2, $3, now())", campaign_id, numbers[4], outcome)
        for n in (2, 3):
            await conn.execute("INSERT INTO dial_attempts (campaign_id, number_id) VALUES ($1, $2)",
                               campaign_id, numbers[n])
        await conn.execute("INSERT INTO dial_attempts (campaign_id, number_id, answered_at, agent_user_id) "
                           "VALUES ($1, $2, now(), $3)", campaign_id, numbers[5], world["olga"]["id"])
        await conn.execute("INSERT INTO agent_states (user_id, logged_in, paused) VALUES ($1, true, true)",
                           world["irina"]["id"])
    figures = web.get(f"/api/dial-campaigns/{campaign_id}").json()["dashboard"]
    assert figures["progress"] == {"pending": 2, "dialing": 2, "done": 3, "skipped": 3, "total": 10, "finished": 6,
                                   "percent": 60.0}
    assert figures["skipped"] == {"dnc": 2, "invalid_number": 1, "duplicate": 0, "cancelled": 0}
    assert figures["outcomes"] == {"answered": 19, "busy": 3, "no_answer": 2, "failed": 0, "machine": 1,
                                   "dropped": 1, "cancelled": 0}
    assert figures["attempts"] == {"total": 29, "ended": 26, "live": 3}
    assert figures["drop"] == {"dropped": 1, "answered": 20, "rate": 5.0, "limit": 3.0, "over": True}
    assert figures["pacing"]["ringing"] == 2
    assert (figures["pacing"]["agents_free"], figures["pacing"]["agents_busy"], figures["pacing"]["agents_away"]) == (
        0, 1, 1)
    page = web.get(f"/dial-campaigns/{campaign_id}").text
    assert 'data-figure="drop.rate">5.0<' in page and 'data-over="true"' in page
    assert 'data-figure="skipped.dnc">2<' in page


def test_summarise_is_pure():
    campaign = {"id": 1, "status": "running", "mode": "progressive", "drop_limit": 3, "max_ratio": 3}
    out = dashboard.summarise(campaign, {"pending": 5}, {}, {}, 1, dashboard.AgentCounts(free=3, busy=1))
    assert out["progress"]["percent"] == 0.0 and out["drop"]["rate"] == 0.0 and not out["drop"]["over"]
    assert out["pacing"]["to_place"] == 2  # three free agents, one call already ringing


def test_problems_name_each_field():
    ok = campaigns.CampaignInput(name="A")
    assert campaigns.problems(ok) == {}
    bad = campaigns.CampaignInput(name="A", retry={**ok.retry, "busy": (3, 0)}, caller_id="abc",
                                  amd_settings={**ok.amd_settings, "maximum_number_of_words": 30})
    assert campaigns.problems(bad) == {"retry_busy_after": "from 1 to 10080 minutes",
                                       "amd_maximum_number_of_words": "from 1 to 20",
                                       "caller_id": "digits and a leading +, at most 40"}
