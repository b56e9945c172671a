"""SQL for IVR menus: the admin's list and form, saving (with the checks that need the database:
live targets, no loop) and deleting, and the live menus the call path caches."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from crm import audit
from crm.errors import Conflict, NotFound, ValidationError
from crm.greetings.prompts import prompt_of
from crm.i18n import gettext as _
from crm.ivr.model import CleanMenu, Menu, MenuInput, RouteChoice, key_field, loop_through
from crm.lines import CHANGED_CHANNEL
from crm.lines.queries import route_of, target_error

# Two admins saving menus at once must not make a loop together: saves take turns.
_SAVE_LOCK = 0x70627869767200  # "pbxivr"


def _route_columns(prefix: str, kind: str, queue: str, user: str, menu: str) -> str:
    """A route's columns as lines.queries.route_of reads them, and whether its target is gone."""
    return f"""{kind} AS {prefix}_kind,
           {queue}.id AS {prefix}_queue_id, {queue}.name AS {prefix}_queue_name,
           ({queue}.deleted_at IS NOT NULL) AS {prefix}_queue_deleted,
           {user}.id AS {prefix}_user_id, {user}.full_name AS {prefix}_user_name,
           {user}.extension AS {prefix}_user_extension,
           ({user}.deleted_at IS NULL AND NOT {user}.is_blocked AND {user}.extension IS NOT NULL)
               AS {prefix}_user_active,
           {menu}.id AS {prefix}_menu_id, {menu}.name AS {prefix}_menu_name,
           ({menu}.deleted_at IS NOT NULL) AS {prefix}_menu_deleted"""


_MENUS = f"""
    SELECT m.id, m.name, m.greeting_id, m.sound, m.timeout_seconds, m.replays, m.skip_known,
           g.name AS greeting_name, g.file AS greeting_file,
           {_route_columns("timeout", "m.timeout_kind", "tq", "tu", "tm")},
           coalesce((SELECT array_agg(l.name ORDER BY lower(l.name)) FROM lines l WHERE l.deleted_at IS NULL
                     AND (l.route_menu_id = m.id OR l.after_hours_menu_id = m.id)), '{{}}') AS lines
    FROM ivr_menus m
    LEFT JOIN greetings g ON g.id = m.greeting_id
    LEFT JOIN queues tq ON tq.id = m.timeout_queue_id
    LEFT JOIN users tu ON tu.id = m.timeout_user_id
    LEFT JOIN ivr_menus tm ON tm.id = m.timeout_menu_id
    WHERE m.deleted_at IS NULL
"""
_OPTIONS = f"""
    SELECT o.menu_id, o.digit, {_route_columns("key", "o.kind", "q", "u", "sm")}
    FROM ivr_options o
    LEFT JOIN queues q ON q.id = o.queue_id
    LEFT JOIN users u ON u.id = o.user_id
    LEFT JOIN ivr_menus sm ON sm.id = o.submenu_id
    WHERE o.menu_id = ANY($1::bigint[])
    ORDER BY strpos('123456789*0#', o.digit)
"""


def _display(r, prefix: str) -> dict:
    """A route as a page shows it: its kind, its target's name, and whether that target is gone."""
    kind = r[f"{prefix}_kind"]
    name, broken = None, False
    if kind == "queue":
        name, broken = r[f"{prefix}_queue_name"], r[f"{prefix}_queue_deleted"]
    elif kind == "user":
        name, broken = r[f"{prefix}_user_name"], not r[f"{prefix}_user_active"]
    elif kind == "ivr":
        name, broken = r[f"{prefix}_menu_name"], r[f"{prefix}_menu_deleted"]
    target_id = {"queue": r[f"{prefix}_queue_id"], "user": r[f"{prefix}_user_id"], "ivr": r[f"{prefix}_menu_id"]}
    return {"kind": kind, "name": name, "broken": broken, "choice": RouteChoice(kind, target_id.get(kind)).text}


async def _options(conn: asyncpg.Connection, menu_ids: list[int]) -> dict[int, list[asyncpg.Record]]:
    options: dict[int, list[asyncpg.Record]] = {i: [] for i in menu_ids}
    for r in await conn.fetch(_OPTIONS, menu_ids):
        options[r["menu_id"]].append(r)
    return options


async def list_menus(conn: asyncpg.Connection) -> list[dict]:
    """The live menus for the admin's list: prompt, keys and timeout route in words' parts, lines using each."""
    return await _listed(conn, _MENUS + " ORDER BY lower(m.name), m.id")


async def get_menu(conn: asyncpg.Connection, menu_id: int) -> dict | None:
    rows = await _listed(conn, _MENUS + " AND m.id = $1", menu_id)
    return rows[0] if rows else None


async def _listed(conn: asyncpg.Connection, sql: str, *args) -> list[dict]:
    rows = await conn.fetch(sql, *args)
    options = await _options(conn, [r["id"] for r in rows])
    return [{**dict(r), "prompt": prompt_of(r["greeting_id"], r["greeting_name"], r["greeting_file"], r["sound"]),
             "timeout": _display(r, "timeout"), "keys": [(o["digit"], _display(o, "key")) for o in options[r["id"]]]}
            for r in rows]


async def choices(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """(id, name) of every live menu, for a route's select."""
    return await conn.fetch("SELECT id, name FROM ivr_menus WHERE deleted_at IS NULL ORDER BY lower(name), id")


async def load_menus(conn: asyncpg.Connection) -> dict[int, Menu]:
    """Every live menu as the call path walks it (crm/routing/view.py caches them)."""
    rows = await conn.fetch(_MENUS)
    options = await _options(conn, [r["id"] for r in rows])
    menus = {}
    for r in rows:
        prompt = prompt_of(r["greeting_id"], r["greeting_name"], r["greeting_file"], r["sound"])
        assert prompt is not None  # a live menu has its prompt (ivr_menus_prompt_check)
        menus[r["id"]] = Menu(
            id=r["id"], name=r["name"], prompt=prompt, timeout_seconds=r["timeout_seconds"], replays=r["replays"],
            timeout=route_of(r, "timeout"), skip_known=r["skip_known"],
            options={o["digit"]: route_of(o, "key") for o in options[r["id"]]})
    return menus


# ---- saving ----

async def save_menu(conn: asyncpg.Connection, admin_id: int, menu_id: int | None, inp: MenuInput) -> int:
    menu = inp.cleaned()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SAVE_LOCK)
        errors = await _target_errors(conn, menu)
        if menu_id is not None and not errors:
            errors = await _loop_errors(conn, menu_id, menu)
        if errors:
            raise ValidationError(errors)
        before = await _stored(conn, menu_id) if menu_id is not None else None
        timeout = menu.timeout
        values = (menu.name, menu.prompt.greeting_id, menu.prompt.sound, menu.timeout_seconds, menu.replays,
                  timeout.kind, _target(timeout, "queue"), _target(timeout, "user"), _target(timeout, "ivr"),
                  menu.skip_known)
        try:
            async with conn.transaction():
                if menu_id is None:
                    menu_id = await conn.fetchval(
                        """INSERT INTO ivr_menus (name, greeting_id, sound, timeout_seconds, replays, timeout_kind,
                                                  timeout_queue_id, timeout_user_id, timeout_menu_id, skip_known)
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""", *values)
                    action = "create"
                else:
                    status = await conn.execute(
                        """UPDATE ivr_menus SET name = $2, greeting_id = $3, sound = $4, timeout_seconds = $5,
                                  replays = $6, timeout_kind = $7, timeout_queue_id = $8, timeout_user_id = $9,
                                  timeout_menu_id = $10, skip_known = $11, updated_at = now()
                           WHERE id = $1 AND deleted_at IS NULL""", menu_id, *values)
                    if status == "UPDATE 0":
                        raise NotFound(_("no menu %(id)s") % {"id": menu_id})
                    action = "update"
        except asyncpg.UniqueViolationError:
            raise ValidationError({"name": _("a menu named %(name)s exists already") % {"name": menu.name}}) from None
        assert menu_id is not None
        await conn.execute("DELETE FROM ivr_options WHERE menu_id = $1", menu_id)
        await conn.executemany(
            """INSERT INTO ivr_options (menu_id, digit, kind, queue_id, user_id, submenu_id)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            [(menu_id, key, r.kind, _target(r, "queue"), _target(r, "user"), _target(r, "ivr"))
             for key, r in menu.options.items()])
        changes = audit.diff(before, {
            "name": menu.name, "prompt": menu.prompt.greeting_id or menu.prompt.sound,
            "keys": {key: r.text for key, r in sorted(menu.options.items())}, "timeout_seconds": menu.timeout_seconds,
            "timeout": timeout.text, "replays": menu.replays, "skip_known": menu.skip_known})
        if changes:
            await audit.record(conn, admin_id, "ivr_menu", menu_id, action, changes)
        await conn.execute("SELECT pg_notify($1, $2)", CHANGED_CHANNEL, f"ivr_menu {menu_id}")
    return menu_id


async def _stored(conn: asyncpg.Connection, menu_id: int) -> dict | None:
    """A saved menu as save_menu's audit compares it."""
    row = await conn.fetchrow(
        """SELECT name, greeting_id, sound, timeout_seconds, replays, skip_known, timeout_kind,
                  coalesce(timeout_queue_id, timeout_user_id, timeout_menu_id) AS target
           FROM ivr_menus WHERE id = $1 AND deleted_at IS NULL""", menu_id)
    if row is None:
        return None
    keys = await conn.fetch("""SELECT digit, kind, coalesce(queue_id, user_id, submenu_id) AS target
                               FROM ivr_options WHERE menu_id = $1 ORDER BY digit""", menu_id)
    return {"name": row["name"], "prompt": row["greeting_id"] or row["sound"],
            "keys": {k["digit"]: RouteChoice(k["kind"], k["target"]).text for k in keys},
            "timeout_seconds": row["timeout_seconds"], "timeout": RouteChoice(row["timeout_kind"], row["target"]).text,
            "replays": row["replays"], "skip_known": row["skip_known"]}


def _target(route: RouteChoice, kind: str) -> int | None:
    return route.target_id if route.kind == kind else None


def _routes(menu: CleanMenu) -> Iterable[tuple[str, RouteChoice]]:
    """Each route of the menu with the form's field that chose it."""
    yield from ((key_field(key), r) for key, r in menu.options.items())
    yield "timeout_route", menu.timeout


async def _target_errors(conn: asyncpg.Connection, menu: CleanMenu) -> dict[str, str]:
    errors: dict[str, str] = {}
    if menu.prompt.greeting_id is not None and not await conn.fetchval("SELECT 1 FROM greetings WHERE id = $1",
                                                                       menu.prompt.greeting_id):
        errors["prompt"] = _("no such greeting")
    for field, r in _routes(menu):
        error = await target_error(conn, r.kind, r.target_id)
        if error:
            errors[field] = error
    return errors


async def _loop_errors(conn: asyncpg.Connection, menu_id: int, menu: CleanMenu) -> dict[str, str]:
    """A menu that its own keys or timeouts would lead back to is refused, on the field that starts the loop."""
    edges: dict[int, set[int]] = {}
    for r in await conn.fetch("""SELECT o.menu_id AS source, o.submenu_id AS target FROM ivr_options o
                                 JOIN ivr_menus m ON m.id = o.menu_id AND m.deleted_at IS NULL
                                 WHERE o.submenu_id IS NOT NULL
                                 UNION SELECT id, timeout_menu_id FROM ivr_menus
                                 WHERE deleted_at IS NULL AND timeout_menu_id IS NOT NULL"""):
        edges.setdefault(r["source"], set()).add(r["target"])
    edges[menu_id] = menu.submenus()
    path = loop_through(menu_id, edges)
    if path is None:
        return {}
    names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM ivr_menus WHERE id = ANY($1::bigint[])",
                                                          path)}
    names[menu_id] = menu.name
    field = next(f for f, r in _routes(menu) if r.kind == "ivr" and r.target_id == path[1])
    return {field: _("this would make a loop, %(path)s: a menu cannot lead back to itself") % {
        "path": " → ".join(names.get(i, "?") for i in path)}}


async def delete_menu(conn: asyncpg.Connection, admin_id: int, menu_id: int) -> None:
    """Soft, as lines: calls keep the menu's name in their route. Refused while a line or menu leads to it."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SAVE_LOCK)
        name = await conn.fetchval("SELECT name FROM ivr_menus WHERE id = $1 AND deleted_at IS NULL", menu_id)
        if name is None:
            raise NotFound(_("no menu %(id)s") % {"id": menu_id})
        users = [_("line %(name)s") % {"name": r["name"]} for r in await conn.fetch(
            """SELECT name FROM lines WHERE deleted_at IS NULL AND (route_menu_id = $1 OR after_hours_menu_id = $1)
               ORDER BY lower(name)""", menu_id)]
        users += [_("menu %(name)s") % {"name": r["name"]} for r in await conn.fetch(
            """SELECT DISTINCT m.name FROM ivr_menus m LEFT JOIN ivr_options o ON o.menu_id = m.id
               WHERE m.deleted_at IS NULL AND m.id <> $1 AND (o.submenu_id = $1 OR m.timeout_menu_id = $1)
               ORDER BY m.name""", menu_id)]
        if users:
            raise Conflict(_("menu %(name)s is used by %(users)s: route them elsewhere first") % {
                "name": name, "users": ", ".join(users)})
        await conn.execute("UPDATE ivr_menus SET deleted_at = now() WHERE id = $1", menu_id)
        await audit.record(conn, admin_id, "ivr_menu", menu_id, "delete", audit.deleted({"name": name}))
        await conn.execute("SELECT pg_notify($1, $2)", CHANGED_CHANNEL, f"ivr_menu {menu_id}")
