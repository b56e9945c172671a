"""SQL for counterparties, their contacts, addresses and company membership."""

from __future__ import annotations

import asyncpg

from crm.counterparties.model import CounterpartyInput


def number_owner_sql(number: str, extension: str = "NULL::text") -> str:
    """The one definition of "whose card is this number": SQL for the id of the live card that
    has the phone, for a query to embed as a scalar subquery. `number` and `extension` name the
    embedding query's parameters ($n) or columns, never values.

    A call carries no extension: the card with the main number itself wins; of the cards with the
    number and an extension (an office switchboard), the one with that extension, else the one
    that had the number first."""
    return f"""(SELECT k.counterparty_id FROM contacts k JOIN counterparties c ON c.id = k.counterparty_id
            WHERE k.normalized = {number} AND k.kind IN ('phone', 'fax')
              AND k.deleted_at IS NULL AND c.deleted_at IS NULL
            ORDER BY coalesce(k.extension, '') <> coalesce({extension}, ''), k.extension IS NOT NULL, k.id
            LIMIT 1)"""


async def number_owner(conn: asyncpg.Connection, normalized: str,
                       extension: str | None = None) -> asyncpg.Record | None:
    """The card (id, display_name) this number belongs to, as a call or a call list finds it."""
    return await conn.fetchrow(f"SELECT id, display_name FROM counterparties WHERE id = {_NUMBER_OWNER}",
                               normalized, extension)


_NUMBER_OWNER = number_owner_sql("$1", "$2::text")
_CARD = """
    SELECT c.id, c.kind, c.last_name, c.first_name, c.patronymic, c.company_name, c.display_name,
           c.status, c.responsible_user_id, c.remark, c.comment, c.created_by, c.created_at,
           c.updated_at, c.deleted_at, u.full_name AS responsible_name, u.deleted_at AS responsible_deleted_at,
           c.queue_id, q.name AS queue_name, coalesce(c.timezone, '') AS timezone
    FROM counterparties c LEFT JOIN users u ON u.id = c.responsible_user_id
    LEFT JOIN queues q ON q.id = c.queue_id AND q.deleted_at IS NULL
"""


async def insert_counterparty(conn: asyncpg.Connection, inp: CounterpartyInput, created_by: int | None) -> int:
    return await conn.fetchval(
        """INSERT INTO counterparties (kind, last_name, first_name, patronymic, company_name, status,
                                       responsible_user_id, remark, comment, created_by, queue_id, timezone)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nullif($12, '')) RETURNING id""",
        inp.kind, inp.last_name, inp.first_name, inp.patronymic, inp.company_name, inp.status,
        inp.responsible_user_id, inp.remark, inp.comment, created_by, inp.queue_id, inp.timezone,
    )


async def update_counterparty(conn: asyncpg.Connection, counterparty_id: int, inp: CounterpartyInput) -> None:
    await conn.execute(
        """UPDATE counterparties SET last_name = $2, first_name = $3, patronymic = $4, company_name = $5,
                  status = $6, responsible_user_id = $7, remark = $8, comment = $9, queue_id = $10,
                  timezone = nullif($11, ''), updated_at = now()
           WHERE id = $1 AND deleted_at IS NULL""",
        counterparty_id, inp.last_name, inp.first_name, inp.patronymic, inp.company_name, inp.status,
        inp.responsible_user_id, inp.remark, inp.comment, inp.queue_id, inp.timezone,
    )


async def soft_delete(conn: asyncpg.Connection, counterparty_id: int) -> None:
    # Its contacts go with it, so the numbers and addresses are free for others.
    await conn.execute("UPDATE counterparties SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
                       counterparty_id)
    await conn.execute("UPDATE contacts SET deleted_at = now() WHERE counterparty_id = $1 AND deleted_at IS NULL",
                       counterparty_id)


async def get_counterparty(conn: asyncpg.Connection, counterparty_id: int, *,
                           for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF c" if for_update else ""
    return await conn.fetchrow(_CARD + " WHERE c.id = $1" + lock, counterparty_id)


async def contacts_of(conn: asyncpg.Connection, counterparty_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, kind, value, extension, normalized, note, auto_added, created_at FROM contacts
           WHERE counterparty_id = $1 AND deleted_at IS NULL ORDER BY kind, id""",
        counterparty_id,
    )


async def insert_contact(conn: asyncpg.Connection, counterparty_id: int, kind: str, value: str,
                         normalized: str, note: str, created_by: int | None, auto_added: bool = False,
                         extension: str | None = None) -> int:
    return await conn.fetchval(
        """INSERT INTO contacts (counterparty_id, kind, value, normalized, note, created_by, auto_added, extension)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        counterparty_id, kind, value.strip(), normalized, note.strip(), created_by, auto_added, extension,
    )


async def get_contact(conn: asyncpg.Connection, contact_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, counterparty_id, kind, value, extension, normalized, note FROM contacts "
        "WHERE id = $1 AND deleted_at IS NULL",
        contact_id,
    )


async def update_contact(conn: asyncpg.Connection, contact_id: int, value: str, normalized: str, note: str,
                         extension: str | None) -> None:
    await conn.execute("UPDATE contacts SET value = $2, normalized = $3, note = $4, extension = $5 WHERE id = $1",
                       contact_id, value.strip(), normalized, note.strip(), extension)


async def delete_contact(conn: asyncpg.Connection, contact_id: int) -> None:
    await conn.execute("UPDATE contacts SET deleted_at = now() WHERE id = $1", contact_id)


async def contact_owner(conn: asyncpg.Connection, normalized: str,
                        extension: str | None = None) -> asyncpg.Record | None:
    """Who has this exact contact: the number with this extension (None: the number without one).

    The same main number with another extension belongs to someone else (migration 0017)."""
    return await conn.fetchrow(
        """SELECT c.id, c.kind, c.display_name FROM contacts k JOIN counterparties c ON c.id = k.counterparty_id
           WHERE k.normalized = $1 AND coalesce(k.extension, '') = coalesce($2, '') AND k.deleted_at IS NULL""",
        normalized, extension,
    )


async def addresses_of(conn: asyncpg.Connection, counterparty_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, kind, address FROM addresses WHERE counterparty_id = $1 ORDER BY id", counterparty_id)


async def insert_address(conn: asyncpg.Connection, counterparty_id: int, address: str, kind: str = "postal") -> int:
    return await conn.fetchval(
        "INSERT INTO addresses (counterparty_id, kind, address) VALUES ($1, $2, $3) RETURNING id",
        counterparty_id, kind, address,
    )


async def delete_address(conn: asyncpg.Connection, counterparty_id: int, address_id: int) -> bool:
    status = await conn.execute("DELETE FROM addresses WHERE id = $1 AND counterparty_id = $2",
                                address_id, counterparty_id)
    return status != "DELETE 0"


async def companies_of(conn: asyncpg.Connection, client_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT c.id, c.display_name, c.remark FROM company_members m JOIN counterparties c ON c.id = m.company_id
           WHERE m.client_id = $1 AND c.deleted_at IS NULL ORDER BY c.display_name""",
        client_id,
    )


async def members_of(conn: asyncpg.Connection, company_id: int, limit: int = 200) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT c.id, c.display_name, c.remark, c.status FROM company_members m
           JOIN counterparties c ON c.id = m.client_id
           WHERE m.company_id = $1 AND c.deleted_at IS NULL ORDER BY c.display_name LIMIT $2""",
        company_id, limit,
    )


async def add_member(conn: asyncpg.Connection, company_id: int, client_id: int) -> None:
    await conn.execute(
        "INSERT INTO company_members (company_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        company_id, client_id,
    )


async def remove_member(conn: asyncpg.Connection, company_id: int, client_id: int) -> None:
    await conn.execute("DELETE FROM company_members WHERE company_id = $1 AND client_id = $2",
                       company_id, client_id)


async def live_companies(conn: asyncpg.Connection, ids: list[int]) -> set[int]:
    rows = await conn.fetch(
        "SELECT id FROM counterparties WHERE id = ANY($1::bigint[]) AND kind = 'company' AND deleted_at IS NULL",
        ids,
    )
    return {r["id"] for r in rows}


async def companies_by_name(conn: asyncpg.Connection, name: str, limit: int = 2) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, display_name FROM counterparties
           WHERE kind = 'company' AND deleted_at IS NULL AND lower(company_name) = lower($1) LIMIT $2""",
        name.strip(), limit,
    )


async def counterparties_by_name(conn: asyncpg.Connection, name: str, limit: int = 2) -> list[asyncpg.Record]:
    """Live cards whose name is exactly this (any case): an import's link by name."""
    return await conn.fetch(
        """SELECT id, display_name, deleted_at FROM counterparties
           WHERE deleted_at IS NULL AND lower(display_name) = $1
           ORDER BY id LIMIT $2""",
        " ".join(name.lower().split()), limit,
    )
