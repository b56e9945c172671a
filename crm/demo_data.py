"""Realistic demo data, fast: COPY in chunks, ids reserved up front.

Used by `pbxcrm demo-data --clients N` (make demo, benchmarks) and by tests.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

import asyncpg

from crm.search import fold
from crm.users.accounts import NewUser, create_user

# Russian, as a Russian call centre's base reads (issue 19). Surnames: roots x suffix families,
# gendered; a real base has hundreds of surnames, not dozens.
ROOTS = ["Иван", "Петр", "Сидор", "Смирн", "Кузнец", "Поп", "Васил", "Сокол", "Михайл", "Новик", "Федор",
         "Мороз", "Волк", "Алекс", "Лебед", "Семен", "Егор", "Павл", "Козл", "Степан", "Никол", "Орл", "Андре",
         "Макар", "Никит", "Захар", "Зайц", "Солов", "Борис", "Яковл", "Григор", "Роман", "Воробь", "Серге",
         "Кузьм", "Фрол", "Белоус", "Гус", "Тит", "Кудряв", "Баран", "Кулик", "Жук", "Поляк", "Лазар", "Медвед",
         "Ерш", "Никифор", "Собол", "Денис", "Тихон", "Гром", "Филипп", "Беляк", "Ковал", "Герасим", "Марк",
         "Игнат", "Карп", "Абрам", "Калин", "Черн", "Крыл", "Максим", "Сорок", "Виноград", "Богдан", "Влас",
         "Дороф", "Ефим"]
# (male ending, female ending)
SURNAME_ENDINGS = [("ов", "ова"), ("ин", "ина"), ("ский", "ская"), ("енко", "енко"), ("иков", "икова")]
MALE = ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья", "Кирилл", "Михаил",
        "Никита", "Иван", "Павел", "Роман", "Олег", "Владимир", "Юрий", "Борис", "Егор", "Денис"]
FEMALE = ["Анна", "Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана", "Екатерина", "Анастасия",
          "Юлия", "Дарья", "Полина", "Ксения", "Виктория", "Алина", "Марина", "Галина", "Вера", "Нина"]
# (male patronymic, female patronymic)
FATHERS = [("Александрович", "Александровна"), ("Дмитриевич", "Дмитриевна"), ("Сергеевич", "Сергеевна"),
           ("Андреевич", "Андреевна"), ("Иванович", "Ивановна"), ("Михайлович", "Михайловна"),
           ("Павлович", "Павловна"), ("Владимирович", "Владимировна"), ("Юрьевич", "Юрьевна"),
           ("Николаевич", "Николаевна"), ("Петрович", "Петровна"), ("Викторович", "Викторовна"),
           ("Олегович", "Олеговна"), ("Игоревич", "Игоревна"), ("Анатольевич", "Анатольевна"),
           ("Евгеньевич", "Евгеньевна")]
COMPANY_FORMS = ["ООО", "АО", "ГК", "ТД", "ПАО", "ИП", "НПО", "ЗАО"]
COMPANY_WORDS = ["Ромашка", "Восток", "Север", "Юг", "Запад", "Орбита", "Вектор", "Гранит", "Алмаз", "Кедр",
                 "Радуга", "Волна", "Нева", "Урал", "Байкал", "Алтай", "Сибирь", "Волга", "Кама", "Ока"]
REMARKS = ["", "", "", "VIP-клиент", "платит с опозданием", "просит писать на почту", "звонить после 14:00",
           "оптовик", "дилер в регионе", "наш поставщик", "по пятницам не звонить"]
COMMENTS = ["", "", "познакомились на выставке", "пришёл с сайта", "по рекомендации партнёра",
            "старый клиент, вернулся после перерыва"]
STATUSES = ["active", "active", "active", "potential", "inactive"]
MANAGERS = [("ivanova", "Ирина Иванова", "102"), ("petrov", "Павел Петров", "103"),
            ("sidorova", "Светлана Сидорова", "104")]
CHUNK = 50_000
# Multiplying by an odd number not divisible by 5 permutes 0..10**9-1: unique, random-looking numbers.
_SCRAMBLE = 387_420_489


@dataclass
class Seeded:
    clients: int
    companies: int
    phones: int
    created_managers: dict[str, str]


def _mobile(n: int) -> tuple[str, str]:
    digits = f"{(n * _SCRAMBLE) % 10**9:09d}"
    return f"+7 (9{digits[:2]}) {digits[2:5]}-{digits[5:7]}-{digits[7:]}", f"+79{digits}"


def _landline(n: int) -> tuple[str, str]:
    digits = f"{(n * _SCRAMBLE) % 10**7:07d}"
    return f"8 (495) {digits[:3]}-{digits[3:5]}-{digits[5:]}", f"+7495{digits}"


async def _managers(conn: asyncpg.Connection) -> tuple[list[int], dict[str, str]]:
    ids = [r["id"] for r in await conn.fetch(
        "SELECT id FROM users WHERE role = 'manager' AND deleted_at IS NULL AND NOT is_blocked")]
    created = {}
    if not ids:
        for login, name, ext in MANAGERS:
            password = secrets.token_urlsafe(9)
            user = await create_user(conn, NewUser(login=login, full_name=name, password=password,
                                                   role="manager", extension=ext))
            ids.append(user["id"])
            created[login] = password
    return ids, created


def search_text(names: tuple[str, ...], companies: list[str], contacts: list[str]) -> str:
    """What counterparty_search_text() (migrations 0006, 0016) computes, for rows we COPY ourselves."""
    parts = list(names)
    if companies:
        parts.append(" ".join(companies))
    if contacts:
        parts.append(" ".join(contacts))
    return fold(" ".join(parts))


async def _reserve_ids(conn: asyncpg.Connection, count: int) -> int:
    async with conn.transaction():
        await conn.execute("LOCK TABLE counterparties IN SHARE ROW EXCLUSIVE MODE")
        first = await conn.fetchval("SELECT nextval('counterparties_id_seq')")
        await conn.execute("SELECT setval('counterparties_id_seq', $1)", first + count)
    return first


async def seed(conn: asyncpg.Connection, clients: int, *, seed_value: int | None = None) -> Seeded:
    # Our rows carry their search text: the per-row triggers would only redo it, slowly.
    await conn.execute("SET pbxcrm.bulk_load = 'on'")
    try:
        return await _seed(conn, clients, random.Random(seed_value))
    finally:
        await conn.execute("RESET pbxcrm.bulk_load")


async def _seed(conn: asyncpg.Connection, clients: int, rnd: random.Random) -> Seeded:
    managers, created = await _managers(conn)
    companies = max(1, clients // 10)
    first_company = await _reserve_ids(conn, companies)
    company_ids = list(range(first_company, first_company + companies))
    phones = 0

    async def copy(table, columns, rows):
        await conn.copy_records_to_table(table, records=rows, columns=columns)

    cp_cols = ["id", "kind", "last_name", "first_name", "patronymic", "company_name", "status",
               "responsible_user_id", "remark", "comment", "search_text"]
    contact_cols = ["counterparty_id", "kind", "value", "normalized"]
    company_rows, company_contacts, company_names = [], [], {}
    for cid in company_ids:
        name = company_names[cid] = f"{rnd.choice(COMPANY_FORMS)} «{rnd.choice(COMPANY_WORDS)}-{cid}»"
        remark, comment = rnd.choice(REMARKS), rnd.choice(COMMENTS)
        phone = (cid, "phone", *_landline(cid))
        company_rows.append((cid, "company", "", "", "", name, rnd.choice(STATUSES), rnd.choice(managers),
                             remark, comment, search_text(("", "", "", name, remark, comment), [], [phone[3]])))
        company_contacts.append(phone)
    await copy("counterparties", cp_cols, company_rows)
    await copy("contacts", contact_cols, company_contacts)
    phones += len(company_contacts)

    first_client = await _reserve_ids(conn, clients)
    for start in range(first_client, first_client + clients, CHUNK):
        ids = range(start, min(start + CHUNK, first_client + clients))
        rows, contacts, members = [], [], []
        for cid in ids:
            female = rnd.random() < 0.5
            ending = rnd.choice(SURNAME_ENDINGS)[1 if female else 0]
            last = rnd.choice(ROOTS) + ending
            first = rnd.choice(FEMALE if female else MALE)
            patronymic = rnd.choice(FATHERS)[1 if female else 0]
            mine = [(cid, "phone", *_mobile(cid * 2))]
            if rnd.random() < 0.9:
                # Most clients have a second number: a base of 1M clients holds about 2M numbers.
                mine.append((cid, "phone", *_mobile(cid * 2 + 1)))
            if rnd.random() < 0.4:
                email = f"client.{cid}@example.ru"
                mine.append((cid, "email", email, email))
            company = rnd.choice(company_ids) if rnd.random() < 0.7 else None
            if company:
                members.append((company, cid))
            remark, comment = rnd.choice(REMARKS), rnd.choice(COMMENTS)
            text = search_text((last, first, patronymic, "", remark, comment),
                               [company_names[company]] if company else [], [c[3] for c in mine])
            rows.append((cid, "client", last, first, patronymic, "", rnd.choice(STATUSES),
                         rnd.choice(managers) if rnd.random() < 0.9 else None, remark, comment, text))
            contacts.extend(mine)
        await copy("counterparties", cp_cols, rows)
        await copy("contacts", contact_cols, contacts)
        await copy("company_members", ["company_id", "client_id"], members)
        phones += sum(1 for c in contacts if c[1] == "phone")
    await conn.execute("ANALYZE counterparties; ANALYZE contacts; ANALYZE company_members")
    return Seeded(clients=clients, companies=companies, phones=phones, created_managers=created)
