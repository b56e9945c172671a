"""The web's own refusals in the reader's language (issue 14): bad input in the user's, and
the answers given before the session check (login required, a body too big, a CSRF refusal,
a NUL byte) in the browser's Accept-Language."""

from crm.users import queries as users_q
from tests.helpers import login, make_user

RU = {"accept-language": "ru-RU,ru;q=0.9,en;q=0.5"}


async def test_bad_input_is_named_in_the_users_language(web, db):
    olga = await make_user(db, "olga", "admin")
    async with db.acquire() as conn:
        await users_q.set_locale(conn, olga["id"], "ru", None)
    login(web, "olga")
    r = web.get("/api/clients", params={"page": "abc", "q": "x" * 201})
    assert r.status_code == 400
    body = r.json()
    assert body["fields"] == {"page": "должно быть целым числом", "q": "длиннее 200 символов"}
    assert body["error"] == "Страница: должно быть целым числом; Поиск: длиннее 200 символов"
    page = web.get("/counterparties/new", params={"company": "abc"})
    assert page.status_code == 400 and "Компания: должно быть целым числом" in page.text


def test_refusals_before_the_session_check_speak_the_browsers_language(web):
    assert web.get("/api/clients", headers=RU).json() == {"error": "требуется вход"}
    assert web.get("/api/clients").json() == {"error": "login required"}
    r = web.get("/login", params={"next": "a\x00"}, headers=RU)
    assert r.status_code == 400 and "Страница после входа: содержит символ NUL" in r.text
    r = web.post("/login", content=b"x" * (2 * 1024 * 1024), headers={**RU, "content-type": "text/plain"})
    assert r.status_code == 413 and "запрос слишком большой: не больше 1 МБ" in r.text
    r = web.post("/login", data={"login": "a", "password": "b"}, headers=RU)
    assert r.status_code == 403 and "CSRF-токен отсутствует или неверен" in r.text
