"""Issue 14, the admin part: a user's own language and zone (the account page), the call
centre's language, and tasks, reports, imports and the admin pages in Russian.

The TestClient sends no Accept-Language: without a user's or the call centre's setting,
pages are English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from starlette.testclient import TestClient

from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import login, make_user, upload, workbook
from web.app import create_app

NBSP = "\xa0"  # CLDR's Russian thousands separator


def _main(html: str) -> str:
    """The page's own content, without the navigation bar (translated in another part of issue 14)."""
    return html.split("<main>", 1)[1].split("</main>", 1)[0]


async def _task(db, user, title: str, created_at: str | None = None, **fields) -> int:
    async with db.acquire() as conn:
        type_id = await conn.fetchval("SELECT id FROM task_types WHERE name = $1",
                                      "Deal" if "amount" in fields else "Task")
        task_id = await task_service.create(conn, user, TaskInput(title=title, type_id=type_id,
                                                                   responsible_user_id=user["id"], **fields))
        if created_at:
            await conn.execute("UPDATE tasks SET created_at = $2 WHERE id = $1", task_id,
                               dt.datetime.fromisoformat(created_at))
    return task_id


async def test_the_account_page_sets_language_and_zone_and_the_next_page_follows(web, db):
    mgr = await make_user(db, "mgr", "manager", full_name="Maria Manager")
    task = await _task(db, mgr, "Send the offer", created_at="2026-01-05T15:30:00+00:00")
    login(web, "mgr")
    token = web.cookies["pbxcrm_csrf"]
    tasks = web.get("/tasks").text
    assert 'href="/account"' in tasks and 'href="/account/password"' not in tasks  # the nav leads to the account
    row = tasks.split(f'data-id="{task}"')[1].split("</tr>")[0]
    assert ">1/5/2026</td>" in row  # English, Moscow's day (18:30 MSK)
    page = web.get("/account").text
    assert '<html lang="en">' in page and 'value="Asia/Vladivostok"' in page and "Vladivostok (UTC+10)" in page
    assert 'href="/account/password"' in page

    r = web.post("/account", data={"csrf_token": token, "language": "ru", "timezone": "Asia/Vladivostok"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account?saved=1"
    saved = web.get(r.headers["location"]).text
    assert '<html lang="ru">' in saved and "Настройки сохранены." in saved and "Профиль" in saved
    assert 'value="Asia/Vladivostok" selected' in saved and 'value="ru" lang="ru" selected' in saved
    tasks = web.get("/tasks").text
    assert '<html lang="ru">' in tasks and "Новая задача" in tasks and "New task" not in tasks
    row = tasks.split(f'data-id="{task}"')[1].split("</tr>")[0]
    assert ">06.01.2026</td>" in row  # 01:30 in Vladivostok: the next day, written the Russian way

    # Unknown values: the form again with the message, in the user's language; nothing changes.
    for bad in ({"language": "de", "timezone": ""}, {"language": "ru", "timezone": "Mars/Olympus"}):
        r = web.post("/account", data={"csrf_token": token, **bad})
        assert r.status_code == 400 and 'aria-invalid="true"' in r.text
        assert "не является языком этой CRM" in r.text or "нет в списке часовых поясов" in r.text
    assert web.post("/account", data={"language": "en"}).status_code == 403  # no CSRF token
    async with db.acquire() as conn:
        assert tuple(await conn.fetchrow("SELECT language, timezone FROM users WHERE id = $1", mgr["id"])) == \
            ("ru", "Asia/Vladivostok")
        changes = await conn.fetchval("SELECT changes FROM audit_log WHERE action = 'locale' AND entity_id = $1",
                                      mgr["id"])
    assert "Asia/Vladivostok" in changes

    # Back to the call centre's: English (no setting anywhere) and Moscow's clock.
    r = web.post("/account", data={"csrf_token": token, "language": "", "timezone": ""}, follow_redirects=False)
    assert r.status_code == 303
    tasks = web.get("/tasks").text
    assert '<html lang="en">' in tasks and ">1/5/2026</td>" in tasks.split(f'data-id="{task}"')[1]


async def test_the_call_centres_language_is_the_default_and_the_login_pages(web, db, settings):
    await make_user(db, "adm", "admin")
    await make_user(db, "olga", "operator")
    english = await make_user(db, "emma", "operator")
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET language = 'en' WHERE id = $1", english["id"])
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    page = web.get("/admin/settings").text
    assert "The call centre's language" in page and 'id="centre-language"' in page
    assert web.post("/admin/settings/language", data={"csrf_token": token, "language": "xx"}).status_code == 400
    r = web.post("/admin/settings/language", data={"csrf_token": token, "language": "ru"}, follow_redirects=False)
    assert r.status_code == 303
    page = web.get("/admin/settings").text  # the admin chose no language: the call centre's
    assert '<html lang="ru">' in page and 'value="ru" lang="ru" selected' in page
    assert "Язык колл-центра" in page
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'language'") == 1

    with TestClient(create_app(settings), base_url="http://testserver") as anonymous:
        assert '<html lang="ru">' in anonymous.get("/login").text
        refused = login(anonymous, "olga", "not her password")
        assert refused.status_code == 400 and "Неверный логин или пароль" in refused.text
        assert login(anonymous, "olga").status_code == 303
        tasks = anonymous.get("/tasks").text
        assert '<html lang="ru">' in tasks and "Задачи" in tasks and "Задач нет." in tasks
    with TestClient(create_app(settings), base_url="http://testserver") as emma:
        login(emma, "emma")
        tasks = emma.get("/tasks").text
        assert '<html lang="en">' in tasks and "No tasks." in tasks  # her own choice wins

    r = web.post("/admin/settings/language", data={"csrf_token": token, "language": ""}, follow_redirects=False)
    assert r.status_code == 303 and '<html lang="en">' in web.get("/admin/settings").text


async def test_a_russian_speaking_user_sees_tasks_reports_imports_and_admin_pages_in_russian(web, db):
    adm = await make_user(db, "adm", "admin", full_name="Anna Admin")
    await make_user(db, "petrov", "operator", full_name="Pavel Petrov", extension="103")
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET language = 'ru' WHERE id = $1", adm["id"])
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, answered_at,
                                  ended_at, status)
               VALUES ('ru.1', 'incoming', '84951234567', '100', '2026-11-02 07:00+00', NULL,
                       '2026-11-02 07:01+00', 'missed')""")
    task = await _task(db, adm, "Send the offer", deadline_date=dt.date(2026, 11, 20))
    await _task(db, adm, "Big contract", amount=Decimal("1350.50"), status="done", outcome="won")
    login(web, "adm")

    tasks = web.get("/tasks", params={"status": "all"}).text
    main = _main(tasks)
    assert '<html lang="ru">' in tasks and "2 задачи" in main
    assert "Новая сделка" in main and 'placeholder="Название, пометка, клиент или #номер"' in main
    assert 'data-label="Ответственный"' in main and "выполнена (выиграна)" in main and f"1{NBSP}350,50" in main
    for english in ("New task", "Export to Excel", "my tasks", "Find", "Responsible", "Deadline", "done (won)"):
        assert english not in main, english

    card = _main(web.get(f"/tasks/{task}").text)
    assert "Участники" in card and "Добавить заметку" in card and ">новая</option>" in card
    assert "Participants" not in card and "Add note" not in card and ">Save<" not in card

    report = _main(web.get("/reports/calls", params={"from": "2026-11-02", "to": "2026-11-03"}).text)
    assert "Статистика звонков" in report and "Звонки по дням" in report and "День, MSK" in report
    assert ">02.11.2026</td>" in report and ">пропущенные</th>" in report and ">без оператора</td>" in report
    assert "Call statistics" not in report and "Day, MSK" not in report and "2026-11-02 00:00</td>" not in report
    deals = _main(web.get("/reports/deals", params={"from": "2000-01-01", "to": "2099-12-31"}).text)
    assert "Сделки по менеджерам" in deals and f"1{NBSP}350,50" in deals and "Итого" in deals
    assert "Deals by manager" not in deals and "1,350.50" not in deals

    job = upload(web, workbook(["Фамилия", "Телефоны", "Ответственный"],
                               [["Sokolov", "8 916 111-22-33", None], ["Orlov", "8 916 111-22-44", "nobody"]]))
    assert job["applied"] == 1 and job["message"] == "1 строка загружена, 1 отклонена", job
    assert job["rejected"] == [{"row": 3, "reason": "нет активного пользователя с логином 'nobody'"}]
    page = _main(web.get(f"/import/{job['id']}").text)
    assert "завершён" in page and "проверено 2 из 2 строк" in page and "Отклонённые строки" in page
    imports = _main(web.get("/import").text)
    assert "Импорт из Excel" in imports and "Мои импорты" in imports and ">завершён</td>" in imports
    assert "Check and import" not in imports and ">done</td>" not in imports

    admin_pages = {
        "/admin/users": (("Новый пользователь", ">администратор</td>", ">активен</td>"), ("Create user", ">admin</td>")),
        "/admin/queues": (("Новая очередь", ">звонить всем</td>", "Маршрутизация"), ("Save queue", "ring all")),
        "/admin/tags": (("Новый тег", "Кому доступен"), ("Create tag", "Who may use it")),
        "/admin/task-types": (("Типы задач", "Добавить тип", "1 задача", "в архиве"), ("Add type", "it is a deal")),
        "/admin/settings": (("Запись разговоров", "записывать все звонки", "Кто может выгружать списки и отчёты"),
                            ("Call recording", "record all calls")),
        f"/admin/users/{adm['id']}": (("Удалить пользователя", "Новый пароль"), ("Delete user", "Full name")),
        "/account/password": (("Сменить пароль", "Текущий пароль"), ("Change password", "Current password")),
    }
    for path, (russian, english) in admin_pages.items():
        page = _main(web.get(path).text)
        for text in russian:
            assert text in page, (path, text)
        for text in english:
            assert text not in page, (path, text)


async def test_counted_lists_use_the_plural_forms(web, db):
    mgr = await make_user(db, "mgr", "manager")
    login(web, "mgr")

    def total(language: str) -> str:
        web.headers["Accept-Language"] = language
        return web.get("/tasks").text.split('id="total">')[1].split("</small>")[0]

    for n, russian, english in [(1, "1 задача", "1 task"), (3, "3 задачи", "3 tasks"), (5, "5 задач", "5 tasks")]:
        while await db.fetchval("SELECT count(*) FROM tasks") < n:
            await _task(db, mgr, "Call")
        assert total("ru-RU,ru;q=0.9") == russian
        assert total("en-US") == english
    for _more in range(16):  # 21 in all: "one" again
        await _task(db, mgr, "Call")
    assert total("ru") == "21 задача"
