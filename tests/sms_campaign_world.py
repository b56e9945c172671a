"""The SMS campaign tests' world: users, tagged clients, a gateway and a default number."""

from __future__ import annotations

import asyncpg

from crm import tags
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import make_user


async def campaign_world(pool: asyncpg.Pool) -> dict:
    """Supervisor Boris, operators Olga and Oleg, manager Irina; clients tagged VIP (some also Blocked):
    Ivan (mobile), Pyotr (Vladivostok landline), Stop (opted out), Short (an internal number), Blocked
    (VIP and Blocked), Plain (no tag); one SMPP gateway with the default number."""
    w = {n: await make_user(pool, n, role, full_name=full) for n, role, full in (
        ("boris", "supervisor", "Boris Bossov"), ("olga", "operator", "Olga Otvetova"),
        ("oleg", "operator", "Oleg Other"), ("irina", "manager", "Irina Menedzherova"))}
    async with pool.acquire() as conn:
        w["vip"] = await tags.save_tag(conn, w["boris"]["id"], None, tags.TagInput("VIP"))
        w["blocked"] = await tags.save_tag(conn, w["boris"]["id"], None, tags.TagInput("Blocked"))
        for key, last, first, phone, tagged in (
                ("ivan", "Sokolov", "Ivan", "+7 916 111-00-01", ("vip",)),
                ("pyotr", "Pyotrov", "Pyotr", "+7 423 212-34-56", ("vip",)),
                ("stop", "Stopov", "Stepan", "+7 916 111-00-03", ("vip",)),
                ("short", "Shortov", "Semyon", "101", ("vip",)),
                ("blocked_client", "Blokov", "Boris", "+7 916 111-00-05", ("vip", "blocked")),
                ("plain", "Plainov", "Pavel", "+7 916 111-00-06", ())):
            w[key] = await service.create(conn, w["irina"], CounterpartyInput(
                kind="client", last_name=last, first_name=first, responsible_user_id=w["irina"]["id"],
                contacts=(ContactInput("phone", phone),)), "RU")
            for tag in tagged:
                await conn.execute("INSERT INTO counterparty_tags (counterparty_id, tag_id) VALUES ($1, $2)",
                                   w[key], w[tag])
        await conn.execute("UPDATE counterparties SET sms_opt_out_at = now() WHERE id = $1", w["stop"])
        w["gateway"] = await conn.fetchval("INSERT INTO sms_gateways (name, kind) VALUES ('SMSC', 'smpp') RETURNING id")
        await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ('+74950005555', $1, true)",
                           w["gateway"])
    return w


async def many_clients(pool: asyncpg.Pool, tag_id: int, count: int, first_phone: int = 79170000000) -> None:
    """`count` clients tagged `tag_id`, each with a Moscow mobile, in two statements."""
    async with pool.acquire() as conn:
        await conn.execute(
            """WITH c AS (INSERT INTO counterparties (kind, last_name, first_name)
                          SELECT 'client', 'Client' || n, 'Name' || n FROM generate_series(1, $1) n RETURNING id),
                    k AS (INSERT INTO contacts (counterparty_id, kind, value, normalized)
                          SELECT id, 'phone', '+' || ($2 + id), '+' || ($2 + id) FROM c)
               INSERT INTO counterparty_tags (counterparty_id, tag_id) SELECT id, $3 FROM c""",
            count, first_phone, tag_id)
