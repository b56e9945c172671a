"""A missed call from a client becomes one callback task a day for its manager (H10); from an
unknown number, a task for the queue it waited in (issue 15)."""

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import make_user
from tests.telephony import SippPhone, sipp_call, wait_for


@pytest.fixture
async def client_of_ivanova(db):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 60 WHERE is_default")  # nobody in it
        cid = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
    return ivanova, cid


async def _ended(db, n):
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL") >= n


async def test_two_missed_calls_in_a_day_make_one_callback_task(client_of_ivanova, db, start_stasis_app, tmp_path):
    ivanova, cid = client_of_ivanova
    app = await start_stasis_app()
    async with SippPhone("102", "phone_busy.xml", tmp_path):
        for n in (1, 2):
            result = await sipp_call(caller="84951234567", called="74957654321", talk_ms=1000)
            assert result.returncode == 0, result.output + app.log_text()
            assert await wait_for(lambda n=n: _ended(db, n)), app.log_text()
    async with db.acquire() as conn:
        statuses = [r["status"] for r in await conn.fetch("SELECT status FROM calls ORDER BY id")]
        tasks = await conn.fetch("SELECT t.*, tt.name AS type FROM tasks t JOIN task_types tt ON tt.id = t.type_id")
    assert statuses == ["missed", "missed"]
    assert len(tasks) == 1, app.log_text()
    task = tasks[0]
    assert task["responsible_user_id"] == ivanova["id"] and task["counterparty_id"] == cid
    assert task["type"] == "Call back" and task["title"] == "Call back Sokolov Ivan"
    assert task["status"] == "new" and task["deadline_date"] is not None
    assert task["remark"].startswith("Missed call from 84951234567 at ")


async def test_an_answered_call_makes_no_task_and_an_unknown_callers_missed_one_a_queue_task(
        client_of_ivanova, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    async with SippPhone("102", "phone_answer.xml", tmp_path):
        assert (await sipp_call(caller="84951234567", called="74957654321", talk_ms=500)).returncode == 0
    assert (await sipp_call(caller="89990001122", called="74957654321", talk_ms=500)).returncode == 0
    assert await wait_for(lambda: _ended(db, 2)), app.log_text()

    async def tasks():
        async with db.acquire() as conn:
            return await conn.fetch("SELECT t.*, q.is_default FROM tasks t LEFT JOIN queues q ON q.id = t.queue_id")

    found = await wait_for(tasks)
    assert len(found) == 1, app.log_text()
    # The stranger waited in the default queue (nobody in it) and hung up: a lead for that queue.
    task = found[0]
    assert task["counterparty_id"] is None and task["responsible_user_id"] is None and task["is_default"]
    assert task["callback_number"] == "89990001122" and task["title"] == "89990001122"
