"""Click-to-call on the lists that show numbers (H6, issue 20): each number is a call button
(data-call, dialled by web/static/app.js through POST /api/calls) with the number to dial."""

from __future__ import annotations

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import login, make_user


def _buttons(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('data-call="')[1:]]


async def test_numbers_on_lists_cards_and_tasks_are_call_buttons(db, web):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    async with db.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number, started_at,
                                  ended_at, status, counterparty_id)
               VALUES ('in.1', 'incoming', '84951234567', '+74951234567', '100', now(), now(), 'missed', $1),
                      ('out.1', 'outgoing', '102', NULL, '89161112233', now(), now(), 'answered', $1)""", client)
        task_id = await conn.fetchval(
            """INSERT INTO tasks (title, type_id, responsible_user_id, callback_number, callback_normalized)
               VALUES ('Ring the stranger', (SELECT id FROM task_types WHERE NOT is_deal ORDER BY id LIMIT 1), $1,
                       '89035556677', '+79035556677') RETURNING id""", ivanova["id"])
    login(web, "ivanova")

    assert "+7 495 123-45-67" in _buttons(web.get("/clients").text)  # the counterparty list
    card = web.get(f"/counterparties/{client}").text
    assert "+7 495 123-45-67" in _buttons(card)  # its contacts
    calls = card.split('id="card-calls"', 1)[1].split("</table>", 1)[0]
    assert _buttons(calls) == ["89161112233", "84951234567"] or _buttons(calls) == ["84951234567", "89161112233"]

    tasks = web.get("/tasks").text
    row = tasks.split(f'data-id="{task_id}"', 1)[1].split("</tr>", 1)[0]
    assert _buttons(row) == ["89035556677"] and 'class="call task-number"' in row
    # The task's own page offers the same number.
    assert "89035556677" in _buttons(web.get(f"/tasks/{task_id}").text)
