"""Tasks and deals: the rules without I/O, and the workspace in Chromium."""

import datetime as dt
import os
from decimal import Decimal

import pytest

from crm.clock import Clock
from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.errors import ValidationError
from crm.tasks.model import TaskInput, is_overdue, parse_amount
from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, make_user

NOW = dt.datetime(2026, 11, 20, 15, 0)


def test_overdue_is_open_and_past_the_deadline():
    assert is_overdue("new", dt.date(2026, 11, 19), None, NOW)
    assert not is_overdue("new", dt.date(2026, 11, 20), None, NOW)  # a day-deadline lasts the day
    assert is_overdue("in_progress", dt.date(2026, 11, 20), dt.time(14, 59), NOW)
    assert not is_overdue("in_progress", dt.date(2026, 11, 20), dt.time(15, 1), NOW)
    assert not is_overdue("done", dt.date(2020, 1, 1), None, NOW)
    assert not is_overdue("new", None, None, NOW)


def test_task_input_rules():
    base = dict(title="Call", type_id=1, responsible_user_id=1)
    with pytest.raises(ValidationError, match="amount"):
        TaskInput(**base, amount=Decimal(5)).cleaned(is_deal=False)
    with pytest.raises(ValidationError, match="won deal is done"):
        TaskInput(**base, outcome="won", status="in_progress").cleaned(is_deal=True)
    with pytest.raises(ValidationError, match="time needs a date"):
        TaskInput(**base, deadline_time=dt.time(10)).cleaned(is_deal=False)
    cleaned = TaskInput(**base, participant_ids=(1, 2, 2)).cleaned(is_deal=False)
    assert cleaned.participant_ids == (2,)  # the responsible is not also a participant
    assert parse_amount("150 000,50") == Decimal("150000.50")
    with pytest.raises(ValidationError):
        parse_amount("a lot")


async def _web(database_url, tmp_path, offset=0):
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url, PBXCRM_CLOCK_OFFSET_SECONDS=str(offset)),
                           tmp_path / f"web-{offset}.log")
    await web.start()
    return web


async def _login(chromium, web, login):
    return await logged_in_page(chromium, web.url, login, PASSWORD)


async def test_note_task_overdue_and_a_won_deal_in_the_browser(db, database_url, chromium, tmp_path):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    async with db.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"]), "RU")
    tomorrow = (Clock().today() + dt.timedelta(days=1)).isoformat()

    web = await _web(database_url, tmp_path)
    try:
        page = await _login(chromium, web, "ivanova")
        await page.goto(f"{web.url}/counterparties/{client}")
        await page.fill("form.add-note textarea", "Prefers calls in the morning")
        await page.click("form.add-note button[type=submit]")
        await page.wait_for_selector("#timeline >> text=Prefers calls in the morning")

        await page.click("form.add-note >> text=New task")
        await page.fill("input[name=title]", "Send the price list")
        await page.fill("input[name=deadline_date]", tomorrow)
        await page.click("#task-form button[type=submit]")
        await page.wait_for_selector("h1 >> text=Send the price list")
        await page.goto(web.url + "/tasks")
        row = page.locator("#tasks tbody tr", has_text="Send the price list")
        assert await row.count() == 1 and "overdue" not in (await row.get_attribute("class") or "")
        await page.goto(f"{web.url}/counterparties/{client}")
        timeline = await page.inner_text("#timeline")
        assert "Send the price list" in timeline and "Prefers calls in the morning" in timeline
    finally:
        await web.close()

    # Two days later, by the CRM's clock: the task is overdue and marked so.
    later = await _web(database_url, tmp_path, offset=2 * 86400)
    try:
        page = await _login(chromium, later, "ivanova")
        await page.goto(later.url + "/tasks")
        row = page.locator("#tasks tbody tr", has_text="Send the price list")
        assert "overdue" in await row.get_attribute("class")
        assert "⚠ overdue" in await row.inner_text()
        await page.goto(later.url + "/tasks?overdue=1")
        assert await page.locator("#tasks tbody tr[data-id]").count() == 1

        # A deal, won, with its amount.
        await page.goto(f"{later.url}/tasks/new?counterparty={client}&deal=1")
        await page.fill("input[name=title]", "Annual contract")
        await page.fill("input[name=amount]", "150 000,50")
        await page.select_option("select[name=status]", "done")
        await page.select_option("select[name=outcome]", "won")
        await page.click("#task-form button[type=submit]")
        await page.wait_for_selector("h1 >> text=Annual contract")
        await page.goto(later.url + "/tasks?status=all&deals=1")
        row = page.locator("#tasks tbody tr", has_text="Annual contract")
        text = await row.inner_text()
        assert "done (won)" in text and "150,000.50" in text

        # Every column sorts: by title, both ways.
        await page.goto(later.url + "/tasks?status=all")
        await page.click("#tasks th >> text=Title")
        titles = await page.locator("#tasks tbody td:nth-child(2) a").all_inner_texts()
        assert titles == sorted(titles, key=str.lower)
        await page.click("#tasks th >> text=Title")
        titles = await page.locator("#tasks tbody td:nth-child(2) a").all_inner_texts()
        assert titles == sorted(titles, key=str.lower, reverse=True)
    finally:
        await later.close()
    async with db.acquire() as conn:
        deal = await conn.fetchrow("SELECT amount, outcome, closed_at FROM tasks WHERE title = 'Annual contract'")
    assert deal["amount"] == Decimal("150000.50") and deal["outcome"] == "won" and deal["closed_at"] is not None
