"""Who and what the demo's calls need: operators, queues with members, lines. Idempotent: what
exists is kept (found by login, queue name, line DID), only what is missing is made."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import asyncpg

from crm.demo import texts
from crm.users.accounts import NewUser, create_user


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    extension: str


@dataclass(frozen=True)
class Queue:
    id: int
    name: str
    members: tuple[int, ...]


@dataclass(frozen=True)
class Line:
    id: int
    name: str
    did: str
    queue_id: int | None


@dataclass
class Cast:
    managers: list[Person]
    operators: list[Person]
    queues: list[Queue]  # the demo's queues; default_queue takes the rest
    default_queue: Queue
    lines: list[Line]
    created: dict[str, str] = field(default_factory=dict)  # login -> password of users made now

    def queue(self, queue_id: int | None) -> Queue:
        return next((q for q in self.queues if q.id == queue_id), self.default_queue)


async def _operators(conn: asyncpg.Connection) -> tuple[list[Person], dict[str, str]]:
    created = {}
    for login, name, ext in texts.OPERATORS:
        if await conn.fetchval("SELECT 1 FROM users WHERE login = $1", login) is None:
            taken = await conn.fetchval("SELECT 1 FROM users WHERE extension = $1 AND deleted_at IS NULL", ext)
            password = secrets.token_urlsafe(9)
            await create_user(conn, NewUser(login=login, full_name=name, password=password, role="operator",
                                            extension=None if taken else ext))
            created[login] = password
    rows = await conn.fetch("""SELECT id, full_name, coalesce(extension, '') AS extension FROM users
                               WHERE login = ANY($1::text[]) AND deleted_at IS NULL AND NOT is_blocked
                               ORDER BY extension""", [o[0] for o in texts.OPERATORS])
    return [Person(r["id"], r["full_name"], r["extension"]) for r in rows], created


async def ensure(conn: asyncpg.Connection) -> Cast:
    operators, created = await _operators(conn)
    by_login = {r["login"]: r["id"] for r in await conn.fetch(
        "SELECT login, id FROM users WHERE login = ANY($1::text[])", [o[0] for o in texts.OPERATORS])}
    managers = [Person(r["id"], r["full_name"], r["extension"]) for r in await conn.fetch(
        """SELECT id, full_name, extension FROM users WHERE role = 'manager' AND deleted_at IS NULL
           AND NOT is_blocked AND extension IS NOT NULL ORDER BY extension""")]
    queues = []
    for name, logins in texts.QUEUES:
        queue_id = await conn.fetchval("SELECT id FROM queues WHERE lower(name) = lower($1) AND deleted_at IS NULL",
                                       name)
        if queue_id is None:
            queue_id = await conn.fetchval(
                "INSERT INTO queues (name, strategy, wrapup_seconds) VALUES ($1, 'roundrobin', 0) RETURNING id", name)
        members = tuple(by_login[login] for login in logins if login in by_login)
        await conn.executemany("""INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, $3)
                                  ON CONFLICT DO NOTHING""", [(queue_id, m, i) for i, m in enumerate(members)])
        queues.append(Queue(queue_id, name, members))
    default = await conn.fetchrow("SELECT id, name FROM queues WHERE is_default AND deleted_at IS NULL")
    everyone = tuple(o.id for o in operators)
    await conn.executemany("""INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, $3)
                              ON CONFLICT DO NOTHING""", [(default["id"], m, i) for i, m in enumerate(everyone)])
    queue_ids = {q.name: q.id for q in queues}
    lines = []
    for name, did, queue_name in texts.LINES:
        row = await conn.fetchrow("SELECT id, route_queue_id FROM lines WHERE ltrim(did, '+') = $1 AND "
                                  "deleted_at IS NULL", did)
        if row is None:
            queue_id = queue_ids.get(queue_name) if queue_name else None
            row = await conn.fetchrow(
                """INSERT INTO lines (name, trunk, did, route_kind, route_queue_id) VALUES ($1, 'trunk', $2, $3, $4)
                   RETURNING id, route_queue_id""", name, did, "queue" if queue_id else "crm", queue_id)
        lines.append(Line(row["id"], name, did, row["route_queue_id"]))
    return Cast(managers, operators, queues, Queue(default["id"], default["name"], everyone), lines, created)
