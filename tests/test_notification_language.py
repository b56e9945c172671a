"""Notifications are written in the recipient's language (issue 14): theirs, else the call
centre's, else English; the e-mail goes out through the notifier to a real SMTP server."""

import dataclasses
import datetime as dt

from crm import appsettings
from crm.counterparties import service as cp_service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.tasks import service as task_service
from crm.tasks.callbacks import create_for_missed_call
from crm.tasks.model import TaskInput
from crm.users import queries as users_q
from tests.helpers import mailbox, make_user  # noqa: F401 (a fixture)
from web.notifier import Notifier


async def test_each_manager_gets_e_mails_in_their_own_language(db, settings, mailbox):
    admin = await make_user(db, "adm", "admin")
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", email="ivanova@example.test")
    smith = await make_user(db, "smith", "manager", full_name="John Smith", email="smith@example.test")
    sidorov = await make_user(db, "sidorov", "manager", full_name="Pavel Sidorov", email="sidorov@example.test")
    async with db.acquire() as conn:
        await users_q.set_locale(conn, ivanova["id"], "ru", None)
        await users_q.set_locale(conn, smith["id"], "en", None)
        # Sidorov chose nothing: the call centre speaks Russian.
        await appsettings.set_centre_language(conn, admin["id"], "ru")
        task_type = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")
        tasks = {}
        for user in (ivanova, smith, sidorov):
            tasks[user["login"]] = await task_service.create(conn, admin, TaskInput(
                title="Send the contract", type_id=task_type, responsible_user_id=user["id"],
                deadline_date=dt.date(2030, 12, 1), deadline_time=dt.time(10, 30)))
        client = await cp_service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, started_at, ended_at,
                                  status, counterparty_id)
               VALUES ('missed.1', 'incoming', '84951234567', '+74951234567', '2030-11-29 11:05+00', now(),
                       'missed', $1)""", client)
        assert await create_for_missed_call(conn, "missed.1", "Europe/Moscow") is not None
        notifier = Notifier(dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=mailbox.port))
        await notifier.tick(conn)

    mails = {m["Subject"]: m.get_content() for m in mailbox.mails_to("ivanova@example.test")}
    assigned = f"Задача №{tasks['ivanova']} для вас: Send the contract"
    assert set(mails) == {assigned, "Перезвонить: Sokolov Ivan"}
    assert mails[assigned].startswith("Вам назначена задача. Срок: 01.12.2030, 10:30.")
    assert mails["Перезвонить: Sokolov Ivan"].startswith("Пропущенный звонок с номера 84951234567 в 14:05")

    [english] = mailbox.mails_to("smith@example.test")
    assert english["Subject"] == f"Task #{tasks['smith']} for you: Send the contract"
    assert english.get_content().startswith("A task was assigned to you. Deadline 12/1/2030, 10:30\u202fAM.")

    [centres] = mailbox.mails_to("sidorov@example.test")
    assert centres["Subject"] == f"Задача №{tasks['sidorov']} для вас: Send the contract"
