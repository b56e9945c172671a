"""Tags (D1-D2): on clients, companies, tasks and deals; who may use them; filters by them and by their absence."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.users import ROLES

TARGETS = {"counterparty": ("counterparty_tags", "counterparty_id"), "task": ("task_tags", "task_id")}


@dataclass(frozen=True)
class TagInput:
    name: str
    description: str = ""
    allowed_roles: tuple[str, ...] = ()
    queue_id: int | None = None

    def cleaned(self) -> "TagInput":
        name = self.name.strip()
        if not 0 < len(name) <= 60:
            raise ValidationError({"name": _("a tag name is 1 to %(num)d characters") % {"num": 60}})
        if any(r not in ROLES for r in self.allowed_roles):
            raise ValidationError({"allowed_roles": _("roles are %(roles)s") % {"roles": ", ".join(ROLES)}})
        return TagInput(name, self.description.strip(), tuple(dict.fromkeys(self.allowed_roles)), self.queue_id)


def may_use(user, tag) -> bool:
    """An empty list of roles means everyone."""
    return not tag["allowed_roles"] or user["role"] in tag["allowed_roles"]


# How many cards and tasks carry each tag: counted only for the admin's tag list and its export. Every list,
# card and report offers the tags, and counting a tag on 100,000 cards at each page cost 0.33 s of PostgreSQL
# a page (make bench, pages under 50 concurrent requests, 2026-12-01).
_USES = """(SELECT count(*) FROM counterparty_tags ct WHERE ct.tag_id = t.id) +
           (SELECT count(*) FROM task_tags tt WHERE tt.tag_id = t.id) AS uses"""


async def list_tags(conn: asyncpg.Connection, *, with_uses: bool = False) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT t.id, t.name, t.description, t.allowed_roles, t.queue_id, q.name AS queue_name
                   {", " + _USES if with_uses else ""}
            FROM tags t LEFT JOIN queues q ON q.id = t.queue_id ORDER BY lower(t.name)""")


async def save_tag(conn: asyncpg.Connection, user_id: int, tag_id: int | None, inp: TagInput) -> int:
    inp = inp.cleaned()
    try:
        async with conn.transaction():
            before = None if tag_id is None else await conn.fetchrow(
                "SELECT name, description, allowed_roles, queue_id FROM tags WHERE id = $1", tag_id)
            if tag_id is None:
                tag_id = await conn.fetchval(
                    "INSERT INTO tags (name, description, allowed_roles, queue_id) VALUES ($1, $2, $3, $4) "
                    "RETURNING id",
                    inp.name, inp.description, list(inp.allowed_roles), inp.queue_id)
            elif await conn.execute("UPDATE tags SET name = $2, description = $3, allowed_roles = $4, queue_id = $5 "
                                    "WHERE id = $1", tag_id, inp.name, inp.description, list(inp.allowed_roles),
                                    inp.queue_id) == "UPDATE 0":
                raise NotFound(_("no tag %(id)s") % {"id": tag_id})
            after = {"name": inp.name, "description": inp.description, "allowed_roles": list(inp.allowed_roles),
                     "queue_id": inp.queue_id}
            changes = audit.diff(before, after)
            if changes:
                await audit.record(conn, user_id, "tag", tag_id, "create" if before is None else "update", changes)
    except asyncpg.UniqueViolationError:
        raise Conflict(_("a tag called %(name)s exists already") % {"name": repr(inp.name)}) from None
    except asyncpg.ForeignKeyViolationError:
        raise ValidationError({"queue_id": _("no such queue")}) from None
    return tag_id


async def delete_tag(conn: asyncpg.Connection, user_id: int, tag_id: int) -> None:
    """Delete a tag and take it off every card and task, audited with the number of places it was on."""
    async with conn.transaction():
        tag = await conn.fetchrow("SELECT name, description, allowed_roles, queue_id FROM tags WHERE id = $1 "
                                  "FOR UPDATE", tag_id)
        if tag is None:
            raise NotFound(_("no tag %(id)s") % {"id": tag_id})
        cards = await conn.fetchval("WITH d AS (DELETE FROM counterparty_tags WHERE tag_id = $1 RETURNING 1) "
                                    "SELECT count(*) FROM d", tag_id)
        tasks = await conn.fetchval("WITH d AS (DELETE FROM task_tags WHERE tag_id = $1 RETURNING 1) "
                                    "SELECT count(*) FROM d", tag_id)
        await conn.execute("DELETE FROM tags WHERE id = $1", tag_id)
        changes = audit.diff({**dict(tag), "allowed_roles": list(tag["allowed_roles"]), "uses": cards + tasks}, None)
        await audit.record(conn, user_id, "tag", tag_id, "delete", changes)


async def create_and_put(conn: asyncpg.Connection, user, target: str, target_id: int, inp: TagInput) -> int:
    """A user makes a new tag from a card and puts it there; a tag their own role may not use is refused."""
    inp = inp.cleaned()
    if inp.allowed_roles and user["role"] not in inp.allowed_roles:
        raise ValidationError({"allowed_roles": _("include your own role, or you could not use the tag")})
    async with conn.transaction():
        tag_id = await save_tag(conn, user["id"], None, inp)
        await set_tag(conn, user, target, target_id, tag_id, on=True)
    return tag_id


async def tags_of(conn: asyncpg.Connection, target: str, target_id: int) -> list[asyncpg.Record]:
    table, column = TARGETS[target]
    return await conn.fetch(
        f"""SELECT t.id, t.name, t.description FROM {table} x JOIN tags t ON t.id = x.tag_id
            WHERE x.{column} = $1 ORDER BY lower(t.name)""", target_id)


async def set_tag(conn: asyncpg.Connection, user, target: str, target_id: int, tag_id: int, *, on: bool) -> None:
    table, column = TARGETS[target]
    tag = await conn.fetchrow("SELECT id, name, allowed_roles FROM tags WHERE id = $1", tag_id)
    if tag is None:
        raise NotFound(_("no tag %(id)s") % {"id": tag_id})
    if not may_use(user, tag):
        raise Forbidden(_("your role may not use the tag %(name)s") % {"name": tag["name"]})
    async with conn.transaction():
        if on:
            await conn.execute(f"INSERT INTO {table} ({column}, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                               target_id, tag_id)
        else:
            await conn.execute(f"DELETE FROM {table} WHERE {column} = $1 AND tag_id = $2", target_id, tag_id)
        await audit.record(conn, user["id"], target, target_id, "tag" if on else "untag",
                           {"tag": [None, tag["name"]] if on else [tag["name"], None]})


def tag_conditions(p, alias_id: str, target: str, with_ids: tuple[int, ...], without_ids: tuple[int, ...]) -> list[str]:
    """SQL conditions for lists: has every tag in with_ids, has none of without_ids."""
    table, column = TARGETS[target]
    conditions = [f"EXISTS (SELECT 1 FROM {table} x WHERE x.{column} = {alias_id} AND x.tag_id = {p(t)})"
                  for t in with_ids]
    if without_ids:
        conditions.append(f"NOT EXISTS (SELECT 1 FROM {table} x WHERE x.{column} = {alias_id} "
                          f"AND x.tag_id = ANY({p(list(without_ids))}::bigint[]))")
    return conditions


def and_call_tags(condition: tuple[str, list], first: int, with_ids: tuple[int, ...],
                  without_ids: tuple[int, ...]) -> tuple[str, list]:
    """A condition on calls `c` (SQL and its arguments numbered from $first: the reader's call rules) and
    the tag filters of the call's counterparty after it (D2: every with-tag, none of the without-tags; a
    call with no counterparty has no tags). For the call reports."""
    args = list(condition[1])

    def p(value) -> str:
        args.append(value)
        return f"${first + len(args) - 1}"

    conditions = [condition[0], *tag_conditions(p, "c.counterparty_id", "counterparty", with_ids, without_ids)]
    return " AND ".join(f"({c})" for c in conditions), args
