"""The Clients and Companies lists: filtering, substring search, sorting and paging, on the server.

Only whitelisted columns reach the SQL; every value is a $n parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from crm.counterparties.contacts import phone_digits_query

SORTS = {
    "name": "c.display_name",
    "created": "c.created_at",
    "status": "c.status",
    "responsible": "u.full_name",
    "id": "c.id",
}
# Counting every match of a broad search on a large base costs more than it tells.
COUNT_CAP = 10_000
MIN_QUERY = 2


@dataclass(frozen=True)
class ListQuery:
    kind: str
    q: str = ""
    status: str | None = None
    # None: anyone; 0: nobody responsible; n: that user.
    responsible_id: int | None = None
    company_id: int | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1
    size: int = 50


@dataclass(frozen=True)
class ListResult:
    rows: list[dict]
    total: int
    total_capped: bool


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Params:
    def __init__(self) -> None:
        self.values: list = []

    def __call__(self, value) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def build_where(query: ListQuery, p: _Params) -> str:
    where = [f"c.kind = {p(query.kind)}", "c.deleted_at IS NULL"]
    q = query.q.strip().lower()
    if len(q) >= MIN_QUERY:
        # search_text holds names, remark, comment, company names and contacts (see migration 0006).
        conditions = [f"c.search_text LIKE {p(f'%{escape_like(q)}%')}"]
        digits = phone_digits_query(q)
        if digits and digits != q:
            # "555-44" finds +79165554433: phones are stored as digits.
            conditions.append(f"c.search_text LIKE {p(f'%{digits}%')}")
        where.append("(" + " OR ".join(conditions) + ")")
    if query.status:
        where.append(f"c.status = {p(query.status)}")
    if query.responsible_id == 0:
        where.append("c.responsible_user_id IS NULL")
    elif query.responsible_id is not None:
        where.append(f"c.responsible_user_id = {p(query.responsible_id)}")
    if query.company_id is not None:
        where.append(f"EXISTS (SELECT 1 FROM company_members m WHERE m.client_id = c.id "
                     f"AND m.company_id = {p(query.company_id)})")
    return " AND ".join(where)


def build_list_sql(query: ListQuery) -> tuple[str, list, str, list]:
    """(list SQL, its args, count SQL, its args)."""
    p = _Params()
    where = build_where(query, p)
    order = SORTS.get(query.sort, SORTS["name"])
    direction = "DESC" if query.descending else "ASC"
    nulls = "NULLS LAST" if not query.descending else "NULLS FIRST"
    companies = ("(SELECT string_agg(co.display_name, ', ' ORDER BY co.display_name) FROM company_members m "
                 "JOIN counterparties co ON co.id = m.company_id WHERE m.client_id = c.id "
                 "AND co.deleted_at IS NULL)") if query.kind == "client" else \
                "(SELECT count(*) FROM company_members m WHERE m.company_id = c.id)"
    count_sql = (f"SELECT count(*) FROM (SELECT 1 FROM counterparties c WHERE {where} "
                 f"LIMIT {COUNT_CAP + 1}) t")
    count_args = list(p.values)
    limit, offset = p(query.size), p((query.page - 1) * query.size)
    list_sql = f"""
        SELECT c.id, c.kind, c.display_name, c.remark, c.status, c.created_at, c.responsible_user_id,
               u.full_name AS responsible_name, {companies} AS companies
        FROM counterparties c LEFT JOIN users u ON u.id = c.responsible_user_id
        WHERE {where}
        ORDER BY {order} {direction} {nulls}, c.id {direction}
        LIMIT {limit} OFFSET {offset}"""
    return list_sql, p.values, count_sql, count_args


async def list_counterparties(conn: asyncpg.Connection, query: ListQuery) -> ListResult:
    list_sql, list_args, count_sql, count_args = build_list_sql(query)
    rows = [dict(r) for r in await conn.fetch(list_sql, *list_args)]
    total = await conn.fetchval(count_sql, *count_args)
    if rows:
        ids = [r["id"] for r in rows]
        contacts = await conn.fetch(
            """SELECT counterparty_id, kind, value FROM contacts
               WHERE counterparty_id = ANY($1::bigint[]) AND deleted_at IS NULL AND kind IN ('phone', 'email')
               ORDER BY counterparty_id, kind DESC, id""", ids)
        by_id: dict[int, list] = {}
        for c in contacts:
            by_id.setdefault(c["counterparty_id"], []).append({"kind": c["kind"], "value": c["value"]})
        for r in rows:
            r["contacts"] = by_id.get(r["id"], [])
    return ListResult(rows=rows, total=min(total, COUNT_CAP), total_capped=total > COUNT_CAP)
