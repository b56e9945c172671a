"""The client and company pages in Russian, and section names an admin sets per language
(issue 14, part "cards"; A5). English readers' pages are the other tests' (they read English)."""

from __future__ import annotations

import html
import json

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import csrf_from, login, make_user

RU = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}


def _text(response) -> str:
    """The page with entities decoded: 'zz-top' is &#39;zz-top&#39; in the HTML."""
    return html.unescape(response.text)


def _absent(page: str, *english: str) -> None:
    left = [text for text in english if text in page]
    assert not left, f"English left on a Russian page: {left}"


@pytest.fixture
async def world(db):
    """Manager Mira, her company Romashka and her client Petrov Ivan (in Romashka, with a phone)."""
    mira = await make_user(db, "mira", "manager", full_name="Mira Manager")
    async with db.acquire() as conn:
        company = await service.create(conn, mira, CounterpartyInput(
            kind="company", company_name="Romashka", responsible_user_id=mira["id"]), "RU")
        client = await service.create(conn, mira, CounterpartyInput(
            kind="client", last_name="Petrov", first_name="Ivan", responsible_user_id=mira["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),), company_ids=(company,)), "RU")
    return {"mira": mira, "company": company, "client": client}


async def test_the_clients_list_in_russian(web, world):
    login(web, "mira")
    web.headers.update(RU)
    page = _text(web.get("/clients"))
    assert '<html lang="ru">' in page
    assert "<h1>Клиенты" in page and "Новый клиент" in page and ">Компании</a>" in page  # the nav
    assert "Поиск: имя, телефон, e-mail, комментарий…" in page and ">Найти</button>" in page
    assert "любой статус" in page and ">активный</td>" in page and "по алфавиту" in page
    assert "<th>ФИО</th>" in page and "<th>Дата создания</th>" in page
    # Every cell names its column, for the phone layout that shows rows as cards.
    row = page.split(f'data-id="{world["client"]}"')[1].split("</tr>")[0]
    assert row.count("<td data-label=") == 6
    assert 'data-label="ФИО"' in row and 'data-label="Контакты"' in row and 'data-label="Ответственный"' in row
    assert "Мои фильтры:" in page and ">Задачи</a>" in page and ">Выйти</button>" in page and "(менеджер)" in page
    _absent(page, "New client", ">Find<", "any status", ">active<", "sort by", "<th>Name</th>", "My filters",
            ">Tasks<", "Log out", "(manager)", 'data-label="Name"')
    empty = _text(web.get("/clients", params={"q": "nobody-at-all"}))
    assert "Ничего не найдено." in empty and "Nothing found." not in empty


async def test_a_card_in_russian(web, db, world):
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, status, counterparty_id)
               VALUES ('c.1', 'incoming', '84951234567', '100', now(), 'missed', $1)""", world["client"])
    login(web, "mira")
    web.headers.update(RU)
    page = _text(web.get(f"/counterparties/{world['client']}"))
    for russian in ("Контакты", ">Телефон</span>", "Добавить контакт", "Адреса", "Добавить адрес", "Теги",
                    "Коммуникации", "Заметки</label>", "Задачи и сделки", "Добавить заметку",
                    "Новая задача", "Новая сделка", "Свернуть", "Изменить", "Удалить «Petrov Ivan»?",
                    "История изменений", "создание", "Статус:", "<strong>активный</strong>", "Ответственный:",
                    "<h2>Компании</h2>", "Добавить в «Компании»", 'data-label="Когда"', ">входящий</td>",
                    ">пропущен</td>"):
        assert russian in page, russian
    _absent(page, "Add contact", "Add address", "Timeline", "Tasks and deals", "Collapse", ">Edit<", ">Phone<",
            "Changes", ">create<", "Status:", "Responsible:", "Add to ", 'data-label="When"', ">incoming<", ">missed<")
    company = _text(web.get(f"/counterparties/{world['company']}"))
    assert "<h2>Клиенты</h2>" in company and "Новый клиент</a>" in company and "Все в разделе «Клиенты»" in company
    assert "только записи самой карточки" in company
    _absent(company, "New client here", "All of them in", "own only")


async def test_the_form_and_its_messages_in_russian(web, world):
    login(web, "mira")
    web.headers.update(RU)
    form = _text(web.get("/counterparties/new", params={"kind": "client", "company": world["company"]}))
    for russian in ("<h1>Новый клиент</h1>", "Фамилия", "Имя", "Отчество", "Компания: <strong>Romashka",
                    "Примечание (одна строка, видно в списках)", "Ответственный менеджер", "Телефоны, по одному в строке",
                    ">потенциальный</option>", ">Сохранить</button>", ">Отмена</a>"):
        assert russian in form, russian
    _absent(form, "New client", "Last name", "Patronymic", "Remark", "Save", "Cancel", ">potential<")
    assert "<h1>Новая компания</h1>" in _text(web.get("/counterparties/new", params={"kind": "company"}))

    # Bad input: each message in Russian, next to its field.
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": "",
                                              "phones": "zz-top"})
    assert r.status_code == 400
    page = _text(r)
    assert "Исправьте поля, отмеченные ниже." in page
    assert "укажите фамилию или имя" in page.split('id="error-last_name"')[1].split("</span>")[0]
    _absent(page, "Please correct", "a last or a first name is needed")
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": "Lis",
                                              "phones": "zz-top"})
    assert r.status_code == 400
    page = _text(r)
    assert "'zz-top' — не номер телефона" in page.split('id="error-phones"')[1].split("</span>")[0]
    _absent(page, "Please correct", "is not a phone number")

    # A number another card has: refused, naming the owner, in Russian.
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": "Lis",
                                              "phones": "8 (495) 123-45-67"})
    assert r.status_code == 409
    assert "8 (495) 123-45-67 уже есть в карточке «Petrov Ivan» (клиент)" in _text(r)
    # The API says it in the reader's language too; the codes stay codes.
    r = web.post("/api/counterparties", headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]},
                 json={"kind": "client", "last_name": "Lis", "status": "odd"})
    assert r.status_code == 400 and r.json()["fields"]["status"] == \
        "должно быть одним из: active, potential, inactive, archived"


async def test_login_and_error_pages_in_russian(web, world):
    web.headers.update(RU)
    page = _text(web.get("/login"))
    assert "<title>Войти · pbxcrm</title>" in page and "Логин <input" in page and "Пароль <input" in page
    assert ">Войти</button>" in page
    _absent(page, "Log in", "Login <input", "Password")

    login(web, "mira")
    r = web.get("/counterparties/999999")
    assert r.status_code == 404
    page = _text(r)
    assert "не найдено: клиент или компания с номером 999999" in page and "Вернуться в pbxcrm" in page
    assert ">Клиенты</a>" in page  # the nav of an error page (which reads no settings) is Russian as well
    _absent(page, "Back to pbxcrm", "no client or company", ">Clients<")


async def test_the_users_own_language_wins_over_the_browser(web, db, world):
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET language = 'ru' WHERE id = $1", world["mira"]["id"])
    login(web, "mira")
    web.headers["Accept-Language"] = "en-US"
    page = _text(web.get("/companies"))
    assert "<h1>Компании" in page and "Новая компания" in page and "<th>Клиенты</th>" in page
    _absent(page, "New company", "<th>Clients</th>", "Members")


async def _rename(web, **fields) -> object:
    page = web.get("/admin/settings").text
    data = {"csrf_token": csrf_from(page), **fields}
    return web.post("/admin/settings", data=data, follow_redirects=False)


async def test_renamed_sections_read_in_each_language(web, db, world):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    r = await _rename(web, section_clients="Outlets", section_clients_one="outlet", section_clients_ru="Точки",
                      section_clients_one_ru="точка", section_clients_gender_ru="f",
                      section_companies="Regions", section_companies_one="region", section_companies_ru="Регионы",
                      section_companies_one_ru="регион", section_companies_gender_ru="m")
    assert r.status_code == 303, r.text
    form = _text(web.get("/admin/settings"))
    assert 'name="section_companies_ru"' in form and 'value="Регионы"' in form and 'value="outlet"' in form

    login(web, "mira")
    english = _text(web.get("/companies"))
    assert ">Regions</a>" in english and ">Outlets</a>" in english and "<h1>Regions" in english
    assert "New region" in english and "<th>Outlets</th>" in english
    _absent(english, "Companies", ">Clients<", "New company")
    card = _text(web.get(f"/counterparties/{world['company']}"))
    assert "<h2>Outlets</h2>" in card and "New outlet here" in card and "this region's own only" in card
    assert "<h1>Edit outlet</h1>" in _text(web.get(f"/counterparties/{world['client']}/edit"))

    web.headers.update(RU)
    russian = _text(web.get("/clients"))
    assert ">Точки</a>" in russian and ">Регионы</a>" in russian and "<h1>Точки" in russian
    assert "Новая точка" in russian and "<th>Регионы</th>" in russian  # the gender the admin chose: новая
    _absent(russian, "Клиенты", "Компании", "Новый клиент", "Outlets", "Regions")
    assert "<h1>Новый регион</h1>" in _text(web.get("/counterparties/new", params={"kind": "company"}))
    client_card = _text(web.get(f"/counterparties/{world['client']}"))
    assert "<h2>Регионы</h2>" in client_card and "Добавить в «Регионы»" in client_card
    # Messages name the renamed sections: a duplicate's owner, a company that is not there.
    token = csrf_from(client_card)
    r = web.post(f"/counterparties/{world['company']}/contacts",
                 data={"csrf_token": token, "kind": "phone", "value": "+74951234567"})
    assert "+74951234567 уже есть в карточке «Petrov Ivan» (точка)" in _text(r)
    r = web.post(f"/counterparties/{world['client']}/companies", data={"csrf_token": token, "company_name": "Nowhere"})
    assert "регион 'Nowhere' не найден, или таких несколько" in _text(r)
    del web.headers["Accept-Language"]
    r = web.post(f"/counterparties/{world['company']}/contacts",
                 data={"csrf_token": token, "kind": "phone", "value": "+74951234567"})
    assert "+74951234567 already belongs to outlet Petrov Ivan" in _text(r)
    r = web.get("/counterparties/999999")
    assert "no outlet or region with number 999999" in _text(r)


async def test_blank_names_are_the_defaults_and_a_long_one_is_refused_next_to_its_field(web, db, world):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    web.headers.update(RU)
    r = await _rename(web, section_companies="Regions", section_companies_ru="Р" * 41)
    assert r.status_code == 400
    page = _text(r)
    assert "длиннее 40 символов" in page.split('id="error-section_companies_ru"')[1].split("</span>")[0]
    assert 'value="Regions"' in page  # the form keeps what was typed
    assert (await _rename(web, section_companies="Regions")).status_code == 303
    russian = _text(web.get("/companies"))
    assert "<h1>Компании" in russian and "Новая компания" in russian  # Russian left blank: the default
    del web.headers["Accept-Language"]
    english = _text(web.get("/companies"))
    assert "<h1>Regions" in english and "New company" in english  # the word for one card left blank too


async def test_a_name_stored_before_names_were_per_language_is_every_languages(web, db, world):
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO app_settings (key, value) VALUES ('section.companies', $1::jsonb)",
                           json.dumps("Dealers"))
    login(web, "mira")
    assert ">Dealers</a>" in _text(web.get("/clients"))
    web.headers.update(RU)
    page = _text(web.get("/companies"))
    assert ">Dealers</a>" in page and "<h1>Dealers" in page and "Новая компания" in page


async def test_form_errors_name_the_renamed_sections(web, db, world):
    """Issue 20 (A5): a card's form refused names the sections as the admin renamed them, in each language."""
    await make_user(db, "adm", "admin")
    login(web, "adm")
    assert (await _rename(web, section_clients="Outlets", section_clients_one="outlet", section_clients_ru="Точки",
                          section_clients_one_ru="точка", section_clients_gender_ru="f",
                          section_companies="Regions", section_companies_one="region",
                          section_companies_ru="Регионы", section_companies_one_ru="регион",
                          section_companies_gender_ru="m")).status_code == 303
    form = web.get("/counterparties/new?kind=client").text
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": " "})
    assert r.status_code == 400
    assert "Outlet: a last or a first name is needed" in _text(r).split('id="error-last_name"')[1].split("</span>")[0]
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "company", "company_name": ""})
    assert "Region: a name is needed" in _text(r)
    r = web.post(f"/counterparties/{world['company']}/companies",
                 data={"csrf_token": csrf_from(form), "company_name": "Romashka"})
    assert "only the section Outlets joins Regions" in _text(r)
    web.headers.update(RU)
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": ""})
    assert "Точка: укажите фамилию или имя" in _text(r)
    _absent(_text(r), "Клиент:")
