"""The screen pop speaks the user's language (issue 14): app.js takes its words from the page."""

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.pops.events import PopEvent, notify
from crm.users import queries as users_q
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, make_user


async def test_a_russian_speaking_operators_pop_is_in_russian(web_server, chromium, db):
    olga = await make_user(db, "olga", "operator")
    async with db.acquire() as conn:
        await users_q.set_locale(conn, olga["id"], "ru", None)
        client = await service.create(conn, olga, CounterpartyInput(kind="client", last_name="Belov"), "RU")
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, started_at, ended_at, status, counterparty_id)
               VALUES ('old.1', 'incoming', '84951234567', now() - interval '1 day', now(), 'missed', $1)""", client)
    page = await logged_in_page(chromium, web_server.url, "olga", PASSWORD)
    await page.wait_for_selector("body[data-pops=ready]", state="attached")
    async with db.acquire() as conn:
        await notify(conn, PopEvent(olga["id"], "ringing", "ch.1", "incoming", "84951234567", client, "Belov"))
    await page.wait_for_selector("#screen-pop ul.recent li")
    panel = await page.inner_text("#screen-pop")
    assert "Входящий звонок 84951234567" in panel and "Последние контакты" in panel
    assert "входящий пропущен" in panel  # the last call's direction and status, in words
    assert await page.get_attribute("#screen-pop textarea", "placeholder") == "Комментарий к этому звонку"
