"""The dial campaign numbers, do-not-call and preview tests' world (issue 22)."""

from __future__ import annotations

import asyncpg

from crm import tags
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import make_user


async def dial_world(pool: asyncpg.Pool, mode: str = "preview", status: str = "draft") -> dict:
    """Supervisor Boris runs campaign "Winter calls" (all hours, agents Olga and Oleg, who have
    extensions); Ivan is an operator outside it, Irina a manager outside it, Cora a customer's user.
    Clients tagged VIP: Sokolov (Moscow mobile), Pyotrov (Vladivostok landline), Shortov (an internal
    number), Dnc (on the global do-not-call list); Plainov has no tag. An order of the customer with
    three rows, one of them Sokolov's number again."""
    w = {n: await make_user(pool, n, role, full_name=full, extension=ext) for n, role, full, ext in (
        ("boris", "supervisor", "Boris Bossov", "201"), ("olga", "operator", "Olga Otvetova", "202"),
        ("oleg", "operator", "Oleg Other", "203"), ("ivan", "operator", "Ivan Outsider", "204"),
        ("irina", "manager", "Irina Menedzherova", "205"), ("cora", "operator", "Cora Customer", None))}
    async with pool.acquire() as conn:
        w["customer"] = await conn.fetchval("INSERT INTO customers (name) VALUES ('Acme') RETURNING id")
        await conn.execute("UPDATE users SET role = 'customer', customer_id = $2 WHERE id = $1", w["cora"]["id"],
                           w["customer"])
        w["vip"] = await tags.save_tag(conn, w["boris"]["id"], None, tags.TagInput("VIP"))
        for key, last, phone, tagged in (("sokolov", "Sokolov", "+7 916 111-00-01", True),
                                         ("pyotrov", "Pyotrov", "+7 423 212-34-56", True),
                                         ("shortov", "Shortov", "101", True),
                                         ("dnc", "Dncov", "+7 916 111-00-04", True),
                                         ("plainov", "Plainov", "+7 916 111-00-06", False)):
            w[key] = await service.create(conn, w["irina"], CounterpartyInput(
                kind="client", last_name=last, first_name="Test", responsible_user_id=w["irina"]["id"],
                contacts=(ContactInput("phone", phone),)), "RU")
            if tagged:
                await conn.execute("INSERT INTO counterparty_tags (counterparty_id, tag_id) VALUES ($1, $2)",
                                   w[key], w["vip"])
        await conn.execute("INSERT INTO dnc_numbers (number, reason) VALUES ('+79161110004', 'asked')")
        w["order"] = await conn.fetchval("INSERT INTO orders (customer_id, name, script) VALUES ($1, 'Survey', "
                                         "'Hello, this is a survey') RETURNING id", w["customer"])
        for key, phone, name in (("a", "+7 916 222-00-01", "Row A"), ("b", "8 916 111-00-01", "Row B"),
                                 ("c", "nonsense", "Row C")):
            await conn.execute("INSERT INTO order_rows (order_id, row_key, phone, name, data) "
                               "VALUES ($1, $2, $3, $4, jsonb_build_object('City', 'Tver'))",
                               w["order"], key, phone, name)
        w["campaign"] = await conn.fetchval(
            """INSERT INTO dial_campaigns (name, mode, status, window_from, window_to, author_id, order_id)
               VALUES ('Winter calls', $1, $2, 0, 24, $3, $4) RETURNING id""", mode, status, w["boris"]["id"],
            w["order"])
        await conn.execute("INSERT INTO dial_campaign_agents (campaign_id, user_id) VALUES ($1, $2), ($1, $3)",
                           w["campaign"], w["olga"]["id"], w["oleg"]["id"])
    return w


async def site_campaign(conn: asyncpg.Connection, users: dict, t) -> int:
    """tests/site.py's preview campaign (issue 22): running, every walker an agent, the clients' numbers
    loaded (one skipped: it is on the do-not-call list)."""
    from crm.contact_lists import TagFilter
    from crm.outbound import numbers

    author = next(iter(users.values()))
    campaign = await conn.fetchval(
        """INSERT INTO dial_campaigns (name, mode, status, window_from, window_to, author_id)
           VALUES ($1, 'preview', 'running', 0, 24, $2) RETURNING id""", t("Обзвон должников"), author["id"])
    await conn.execute("INSERT INTO dial_campaign_agents (campaign_id, user_id) SELECT $1, unnest($2::bigint[])",
                       campaign, [u["id"] for u in users.values()])
    listed = await numbers.from_filter(conn, TagFilter(), "RU")
    first = next((c.number for c in listed if numbers.e164(c.number, "RU")), None)
    if first:
        await conn.execute("INSERT INTO dnc_numbers (number, reason) VALUES ($1, $2)", numbers.e164(first, "RU"),
                           t("Жалоба клиента"))
    await numbers.load(conn, campaign, listed, "RU", "Europe/Moscow")
    return campaign
