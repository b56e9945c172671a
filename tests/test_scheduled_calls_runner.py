"""The scheduled calls' runner with the clock (issue 22, H8): a reminder becomes a browser notification and an
e-mail (through an SMTP server, aiosmtpd) when its time comes, not before; a 'dial' call files exactly one
click-to-call request even with two runners at once; a call missed while the CRM was down runs late, once;
settle() ends a dialled call with its request's end and reason. And the model's rules, without I/O."""

import asyncio
import dataclasses
import datetime as dt

import pytest

from crm.counterparties import service as cp_service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.scheduled_calls import model, runner
from crm.scheduled_calls import queries as sq
from tests.helpers import mailbox, make_user  # noqa: F401 (a fixture)
from web.notifier import Notifier

UTC = dt.timezone.utc


@pytest.fixture
async def people(db):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102",
                              email="ivanova@example.test")
    noext = await make_user(db, "noext", "operator", full_name="No Extension", email="noext@example.test")
    async with db.acquire() as conn:
        client = await cp_service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
    return {"ivanova": ivanova, "noext": noext, "client": client}


async def _plan(db, user, due_at, *, action="remind", number="8 495 123-45-67", note="", counterparty_id=None):
    async with db.acquire() as conn:
        return await sq.create(conn, user, sq.ScheduledCallInput(
            number=number, due_at=due_at, action=action, note=note, counterparty_id=counterparty_id),
            now=due_at - dt.timedelta(hours=1), region="RU")


async def _row(db, call_id):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM scheduled_calls WHERE id = $1", call_id)


async def test_a_reminder_comes_at_its_time_in_the_browser_and_by_e_mail(db, settings, people, mailbox):
    due = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
    call_id = await _plan(db, people["ivanova"], due, note="Ask about the invoice", counterparty_id=people["client"])
    async with db.acquire() as conn:
        assert await runner.run_due(conn, due - dt.timedelta(seconds=1), region="RU") == 0  # not yet
        assert (await _row(db, call_id))["status"] == "pending"
        # The notifier's tick (the web's periodic work) runs it at its time, then delivers and mails it.
        notifier = Notifier(dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=mailbox.port))
        await notifier.tick(conn)
        note = await conn.fetchrow("SELECT * FROM notifications WHERE kind = 'scheduled_call'")
        assert note["user_id"] == people["ivanova"]["id"] and note["url"] == f"/scheduled-calls/{call_id}"
        assert note["title"] == "Call +74951234567 (Sokolov Ivan)"
        assert "Ask about the invoice" in note["body"] and "late" not in note["body"]
        assert note["pushed_at"] is not None and note["email_sent_at"] is not None  # to the browsers, and mailed
        assert await runner.run_due(conn, due + dt.timedelta(hours=1), region="RU") == 0  # once only
        await runner.settle(conn)
    [mail] = mailbox.mails_to("ivanova@example.test")
    assert mail["Subject"] == "Call +74951234567 (Sokolov Ivan)"
    assert "Ask about the invoice" in mail.get_content() and f"/scheduled-calls/{call_id}" in mail.get_content()
    row = await _row(db, call_id)
    assert row["status"] == "reminded" and row["emailed_at"] is not None


async def test_a_call_missed_while_the_crm_was_down_runs_late_once(db, people):
    due = dt.datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
    reminder = await _plan(db, people["ivanova"], due)
    dial = await _plan(db, people["ivanova"], due + dt.timedelta(minutes=5), action="dial")
    back_up = due + dt.timedelta(hours=3)  # the CRM came back three hours later
    async with db.acquire() as a, db.acquire() as b:
        await a.execute("UPDATE users SET timezone = 'Europe/Moscow' WHERE id = $1", people["ivanova"]["id"])
        counts = await asyncio.gather(runner.run_due(a, back_up, region="RU"), runner.run_due(b, back_up, region="RU"))
        assert sorted(counts) in ([0, 2], [1, 1])
        assert await runner.run_due(a, back_up + dt.timedelta(minutes=1), region="RU") == 0
        assert await a.fetchval("SELECT count(*) FROM notifications WHERE kind = 'scheduled_call'") == 1
        body = await a.fetchval("SELECT body FROM notifications")
        assert "The reminder is late" in body
        assert "You planned this call for 3/1/2030, 12:00\u202fPM." in body  # on her clock (Moscow)
        assert await a.fetchval("SELECT count(*) FROM call_requests") == 1
    assert (await _row(db, reminder))["status"] == "reminded"
    assert (await _row(db, dial))["status"] == "dialing"


async def test_two_runners_file_one_click_to_call_request_per_call(db, people):
    due = dt.datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
    ids = [await _plan(db, people["ivanova"], due + dt.timedelta(seconds=i), action="dial") for i in range(12)]
    now = due + dt.timedelta(minutes=1)
    async with db.acquire() as a, db.acquire() as b:
        counts = await asyncio.gather(runner.run_due(a, now, region="RU", limit=5),
                                      runner.run_due(b, now, region="RU", limit=5))
        assert counts == [5, 5]  # each took its own: the rows the other holds are skipped, not waited for
        rest = 0
        while (n := await runner.run_due(a, now, region="RU", limit=5)) > 0:
            rest += n
        assert sum(counts) + rest == 12
        requests = await a.fetch("SELECT id, user_id, extension, number, requested_by FROM call_requests")
    assert len(requests) == 12 and len({r["id"] for r in requests}) == 12
    assert {(r["extension"], r["number"], r["requested_by"]) for r in requests} == {
        ("102", "74951234567", people["ivanova"]["id"])}
    rows = [await _row(db, i) for i in ids]
    assert all(r["status"] == "dialing" for r in rows)
    assert sorted(r["request_id"] for r in rows) == sorted(r["id"] for r in requests)


async def test_settle_ends_a_dialled_call_with_its_request(db, people):
    due = dt.datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
    answered = await _plan(db, people["ivanova"], due, action="dial")
    unanswered = await _plan(db, people["ivanova"], due, action="dial", number="+7 916 555-44-33")
    async with db.acquire() as conn:
        await runner.run_due(conn, due, region="RU")
        # The user can no longer be rung (the extension was taken away after planning): failed, with why.
        await conn.execute("UPDATE users SET extension = NULL WHERE id = $1", people["ivanova"]["id"])
        no_phone = await _plan(db, people["ivanova"], due + dt.timedelta(minutes=1), action="remind")
        await conn.execute("UPDATE scheduled_calls SET action = 'dial' WHERE id = $1", no_phone)
        await runner.run_due(conn, due + dt.timedelta(minutes=2), region="RU")
        assert await runner.settle(conn) == 0  # both requests still pending
        a, u = (await _row(db, answered))["request_id"], (await _row(db, unanswered))["request_id"]
        await conn.execute("UPDATE call_requests SET status = 'dialing' WHERE id = $1", a)
        await conn.execute("UPDATE call_requests SET status = 'failed', error = 'the user did not answer' "
                           "WHERE id = $1", u)
        assert await runner.settle(conn) == 1
        await conn.execute("UPDATE call_requests SET status = 'done' WHERE id = $1", a)
        assert await runner.settle(conn) == 1
        assert await runner.settle(conn) == 0
        # A request the Stasis app never took (it was down) and is now too old to take: failed, and why.
        stale = await _plan(db, people["noext"], due, number="84951112233")
        await conn.execute("UPDATE users SET extension = '105' WHERE id = $1", people["noext"]["id"])
        await conn.execute("UPDATE scheduled_calls SET action = 'dial' WHERE id = $1", stale)
        await runner.run_due(conn, due + dt.timedelta(minutes=3), region="RU")
        assert await runner.settle(conn) == 0  # young: the app may still take it
        await conn.execute("UPDATE call_requests SET created_at = now() - interval '61 seconds' "
                           "WHERE id = (SELECT request_id FROM scheduled_calls WHERE id = $1)", stale)
        assert await runner.settle(conn) == 1
        # A request the app took and then never finished (it died mid-call): failed after hours, and why.
        lost = await _plan(db, people["ivanova"], due, action="dial", number="+7 916 555-44-34")
        await conn.execute("UPDATE users SET extension = '102' WHERE id = $1", people["ivanova"]["id"])
        await runner.run_due(conn, due + dt.timedelta(minutes=4), region="RU")
        await conn.execute("UPDATE call_requests SET status = 'ringing user' "
                           "WHERE id = (SELECT request_id FROM scheduled_calls WHERE id = $1)", lost)
        assert await runner.settle(conn) == 0  # ringing now: it goes on
        await conn.execute("UPDATE call_requests SET updated_at = now() - interval '13 hours' "
                           "WHERE id = (SELECT request_id FROM scheduled_calls WHERE id = $1)", lost)
        assert await runner.settle(conn) == 1
    assert (await _row(db, lost))["error"] == model.NEVER_ENDED
    assert (await _row(db, stale))["error"] == model.NOT_TAKEN
    assert dict((await _row(db, answered)).items())["status"] == "done"
    failed = await _row(db, unanswered)
    assert (failed["status"], failed["error"]) == ("failed", "the user did not answer")
    refused = await _row(db, no_phone)
    assert refused["status"] == "failed" and refused["error"] == model.NO_EXTENSION and refused["request_id"] is None


def test_the_model():
    assert model.may_move("pending", "reminded") and model.may_move("pending", "cancelled")
    assert model.may_move("dialing", "done") and not model.may_move("dialing", "cancelled")
    assert not model.may_move("reminded", "pending") and not model.may_move("done", "failed")
    assert model.started("remind") == "reminded" and model.started("dial") == "dialing"
    assert model.settled("done", None) == ("done", "")
    assert model.settled("failed", "busy") == ("failed", "busy")
    assert model.settled("failed", None) == ("failed", "the call failed")
    assert model.settled("dialing", None) is None and model.settled("pending", None) is None
    assert model.settled("pending", None, expired=True) == ("failed", model.NOT_TAKEN)
    assert model.settled("dialing", None, expired=True) is None  # taken: it goes on
    assert model.settled("ringing user", None, stuck=True) == ("failed", model.NEVER_ENDED)  # its app died
    assert model.settled("done", None, stuck=True) == ("done", "")
    me, other = {"id": 1, "role": "operator"}, {"id": 2, "role": "manager"}
    boss, customer = {"id": 3, "role": "supervisor"}, {"id": 4, "role": "customer"}
    mine = {"user_id": 1, "status": "pending"}
    assert model.sees(me, mine) and not model.sees(other, mine) and model.sees(boss, mine)
    assert not model.sees(customer, {"user_id": 4, "status": "pending"})
    assert model.may_cancel(me, mine) and not model.may_cancel(me, {**mine, "status": "dialing"})
    now = dt.datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert model.due_in_time(now - dt.timedelta(minutes=1), now)
    assert not model.due_in_time(now - dt.timedelta(minutes=5), now)
