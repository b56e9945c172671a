"""Who may move a call to another client or rewrite its comment, and who hears its recording (issue 12).

Only the call's participants, the responsible manager of the client it is on, and
supervisors/admins change a call; listening follows the participants and the
manager whose client the call was matched to when it happened, not later moves.
"""

import datetime as dt
import json

import pytest

from crm.calls import queries as calls_q
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import login, make_user

CHANNEL = "1700000000.42"
CALLER = "89035556677"  # a number on nobody's card yet


@pytest.fixture
async def world(db, tmp_path):
    """Manager Alice's client Sokolov called from a new number; operator Olga took the call, recorded."""
    people = {}
    for login_name, role in (("alice", "manager"), ("boris", "manager"), ("olga", "operator"),
                             ("oleg", "operator"), ("sveta", "supervisor"), ("adm", "admin")):
        people[login_name] = await make_user(db, login_name, role)
    async with db.acquire() as conn:
        people["client_a"] = await service.create(conn, people["alice"], CounterpartyInput(
            kind="client", last_name="Sokolov", responsible_user_id=people["alice"]["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
        people["client_b"] = await service.create(conn, people["boris"], CounterpartyInput(
            kind="client", last_name="Borisov", responsible_user_id=people["boris"]["id"]), "RU")
        people["free"] = await service.create(conn, people["oleg"], CounterpartyInput(
            kind="client", last_name="Nobodys"), "RU")
        # What the Stasis app writes: the call as matched, then who answered it.
        now = dt.datetime.now(dt.timezone.utc)
        people["call"] = await calls_q.insert_call(
            conn, channel_id=CHANNEL, direction="incoming", caller_number=CALLER, caller_normalized="+79035556677",
            caller_name="", called_number="74957654321", called_normalized="+74957654321", line="trunk",
            started_at=now, linked_id=CHANNEL, counterparty_id=people["client_a"])
        await calls_q.mark_answered(conn, channel_id=CHANNEL, answered_at=now, operator_user_id=people["olga"]["id"],
                                    queue_id=None)
        audio = tmp_path / "call.mp3"
        audio.write_bytes(b"ID3" + bytes(500))
        people["recording"] = await conn.fetchval(
            "INSERT INTO recordings (call_id, path, format) VALUES ($1, $2, 'mp3') RETURNING id",
            people["call"], str(audio))
    return people


def _as(web, login_name):
    web.cookies.clear()
    login(web, login_name)
    return {"x-csrf-token": web.cookies["pbxcrm_csrf"]}


def _move(web, h, call_id, counterparty_id):
    return web.post(f"/api/calls/{call_id}/counterparty", json={"counterparty_id": counterparty_id}, headers=h)


def _move_by_channel(web, h, counterparty_id):
    return web.post(f"/api/calls/channel/{CHANNEL}/counterparty", json={"counterparty_id": counterparty_id},
                    headers=h)


def _comment(web, h, text):
    return web.post(f"/api/calls/channel/{CHANNEL}/comment", json={"comment": text}, headers=h)


async def _call(db, call_id):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT counterparty_id, comment FROM calls WHERE id = $1", call_id)


async def _audit(db, call_id, action):
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT user_id, changes FROM audit_log WHERE entity = 'call' AND entity_id = $1 "
                                "AND action = $2 ORDER BY id", call_id, action)
    return [(r["user_id"], json.loads(r["changes"])) for r in rows]


def _numbers(web, counterparty_id):
    return [c["normalized"] for c in web.get(f"/api/counterparties/{counterparty_id}").json()["contacts"]]


async def test_a_manager_cannot_move_another_managers_call_to_his_client(web, db, world):
    h = _as(web, "boris")
    assert web.get(f"/recordings/{world['recording']}").status_code == 403
    r = _move(web, h, world["call"], world["client_b"])
    assert r.status_code == 403, r.text
    assert _move_by_channel(web, h, world["client_b"]).status_code == 403
    assert _comment(web, h, "mine now").status_code == 403
    assert web.get(f"/recordings/{world['recording']}").status_code == 403
    assert "+79035556677" not in _numbers(web, world["client_b"])
    call = await _call(db, world["call"])
    assert call["counterparty_id"] == world["client_a"] and call["comment"] == ""
    assert await _audit(db, world["call"], "attach") == []


async def test_an_admin_moving_a_call_does_not_give_its_recording_to_the_new_clients_manager(web, db, world):
    h = _as(web, "adm")
    r = _move(web, h, world["call"], world["client_b"])
    assert r.status_code == 200, r.text
    assert (await _call(db, world["call"]))["counterparty_id"] == world["client_b"]
    assert await _audit(db, world["call"], "attach") == [
        (world["adm"]["id"], {"counterparty_id": [world["client_a"], world["client_b"]]})]
    _as(web, "boris")
    assert web.get(f"/recordings/{world['recording']}").status_code == 403
    # No player on Boris's card either, though the call is listed there now.
    assert f"src=\"/recordings/{world['recording']}\"" not in web.get(f"/counterparties/{world['client_b']}").text
    # The manager whose client called still hears it.
    _as(web, "alice")
    assert web.get(f"/recordings/{world['recording']}").status_code == 200


async def test_an_operator_who_did_not_take_the_call_can_neither_move_nor_comment_it(web, db, world):
    h = _as(web, "oleg")
    assert _move(web, h, world["call"], world["free"]).status_code == 403
    assert _move_by_channel(web, h, world["free"]).status_code == 403
    assert _comment(web, h, "overwritten").status_code == 403
    call = await _call(db, world["call"])
    assert call["counterparty_id"] == world["client_a"] and call["comment"] == ""
    assert "+79035556677" not in _numbers(web, world["free"])


async def test_the_operator_who_took_the_call_moves_and_comments_it_and_both_are_audited(web, db, world):
    h = _as(web, "olga")
    r = _comment(web, h, "wants a callback")
    assert r.status_code == 200, r.text
    assert _comment(web, h, "wants a callback on Monday").status_code == 200
    r = _move_by_channel(web, h, world["free"])
    assert r.status_code == 200 and r.json()["number"] == "89035556677 added to the card"
    call = await _call(db, world["call"])
    assert call["counterparty_id"] == world["free"] and call["comment"] == "wants a callback on Monday"
    olga = world["olga"]["id"]
    assert await _audit(db, world["call"], "comment") == [
        (olga, {"comment": ["", "wants a callback"]}),
        (olga, {"comment": ["wants a callback", "wants a callback on Monday"]})]
    assert await _audit(db, world["call"], "attach") == [
        (olga, {"counterparty_id": [world["client_a"], world["free"]]})]


async def test_the_responsible_manager_moves_and_comments_the_call_but_not_onto_another_managers_client(
        web, db, world):
    h = _as(web, "alice")
    assert _comment(web, h, "my client, all fine").status_code == 200
    # She may not hand the call to Boris's client, which she cannot edit.
    assert _move(web, h, world["call"], world["client_b"]).status_code == 403
    assert _move(web, h, world["call"], world["free"]).status_code == 200
    call = await _call(db, world["call"])
    assert call["counterparty_id"] == world["free"] and call["comment"] == "my client, all fine"
    alice = world["alice"]["id"]
    assert await _audit(db, world["call"], "comment") == [(alice, {"comment": ["", "my client, all fine"]})]
    assert await _audit(db, world["call"], "attach") == [
        (alice, {"counterparty_id": [world["client_a"], world["free"]]})]
    # Moved away from her client, the recording is still hers to hear.
    assert web.get(f"/recordings/{world['recording']}").status_code == 200


async def test_a_supervisor_moves_and_comments_any_call(web, db, world):
    h = _as(web, "sveta")
    assert _comment(web, h, "checked").status_code == 200
    assert _move(web, h, world["call"], world["client_b"]).status_code == 200
    call = await _call(db, world["call"])
    assert call["counterparty_id"] == world["client_b"] and call["comment"] == "checked"
    sveta = world["sveta"]["id"]
    assert await _audit(db, world["call"], "comment") == [(sveta, {"comment": ["", "checked"]})]
    assert await _audit(db, world["call"], "attach") == [
        (sveta, {"counterparty_id": [world["client_a"], world["client_b"]]})]
    assert web.get(f"/recordings/{world['recording']}").status_code == 200
