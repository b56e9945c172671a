"""SQL for lines, their business hours and holidays."""

from __future__ import annotations

import datetime as dt

import asyncpg

from crm import audit
from crm.errors import NotFound, ValidationError
from crm.greetings.prompts import prompt_of
from crm.i18n import gettext as _
from crm.lines import CHANGED_CHANNEL
from crm.lines.model import Line, LineInput, MenuRef, Route
from crm.lines.schedule import WEEKDAYS, Holiday, Interval, Schedule, holidays_text, intervals_text
from crm.routing.decide import ManagerRef, QueueRef

_LIST = """
    SELECT l.*, rq.name AS route_queue_name, (rq.deleted_at IS NOT NULL) AS route_queue_deleted,
           ru.full_name AS route_user_name, ru.extension AS route_user_extension,
           (ru.deleted_at IS NULL AND NOT ru.is_blocked AND ru.extension IS NOT NULL) AS route_user_active,
           aq.name AS after_hours_queue_name, (aq.deleted_at IS NOT NULL) AS after_hours_queue_deleted,
           au.full_name AS after_hours_user_name, au.extension AS after_hours_user_extension,
           (au.deleted_at IS NULL AND NOT au.is_blocked AND au.extension IS NOT NULL) AS after_hours_user_active,
           rm.name AS route_menu_name, (rm.deleted_at IS NOT NULL) AS route_menu_deleted,
           am.name AS after_hours_menu_name, (am.deleted_at IS NOT NULL) AS after_hours_menu_deleted,
           g.name AS greeting_name, g.file AS greeting_file
    FROM lines l
    LEFT JOIN queues rq ON rq.id = l.route_queue_id
    LEFT JOIN users ru ON ru.id = l.route_user_id
    LEFT JOIN queues aq ON aq.id = l.after_hours_queue_id
    LEFT JOIN users au ON au.id = l.after_hours_user_id
    LEFT JOIN ivr_menus rm ON rm.id = l.route_menu_id
    LEFT JOIN ivr_menus am ON am.id = l.after_hours_menu_id
    LEFT JOIN greetings g ON g.id = l.greeting_id
    WHERE l.deleted_at IS NULL
"""


async def list_lines(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The live lines with the names of their queues and users, for the admin's list."""
    return await conn.fetch(_LIST + " ORDER BY lower(l.name), l.id")


async def get_line(conn: asyncpg.Connection, line_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(_LIST + " AND l.id = $1", line_id)


async def schedule_of(conn: asyncpg.Connection, line_id: int) -> Schedule:
    return (await _schedules(conn, [line_id])).get(line_id, Schedule())


def schedule_form_values(schedule: Schedule) -> dict[str, str]:
    """The schedule as the form shows it: hours_0..hours_6 and holidays, as text."""
    values = {f"hours_{day}": intervals_text(schedule.weekly[day]) for day in range(WEEKDAYS)}
    values["holidays"] = holidays_text(schedule.holidays.values())
    return values


async def _schedules(conn: asyncpg.Connection, line_ids: list[int]) -> dict[int, Schedule]:
    weekly: dict[int, list[list[Interval]]] = {i: [[] for _ in range(WEEKDAYS)] for i in line_ids}
    own: dict[tuple[int, dt.date], list[Interval]] = {}
    for r in await conn.fetch("""SELECT line_id, weekday, holiday, opens, closes FROM line_hours
                                 WHERE line_id = ANY($1::bigint[]) ORDER BY opens, closes""", line_ids):
        interval = Interval(r["opens"], r["closes"])
        if r["weekday"] is not None:
            weekly[r["line_id"]][r["weekday"]].append(interval)
        else:
            own.setdefault((r["line_id"], r["holiday"]), []).append(interval)
    holidays: dict[int, dict[dt.date, Holiday]] = {i: {} for i in line_ids}
    for r in await conn.fetch("""SELECT line_id, day, name FROM line_holidays WHERE line_id = ANY($1::bigint[])
                                 ORDER BY day""", line_ids):
        holidays[r["line_id"]][r["day"]] = Holiday(r["day"], r["name"], tuple(own.get((r["line_id"], r["day"]), ())))
    return {i: Schedule(tuple(tuple(d) for d in weekly[i]), holidays[i]) for i in line_ids}


async def load_lines(conn: asyncpg.Connection) -> list[Line]:
    """Every live line as the call path routes by it (crm/routing/view.py caches them)."""
    rows = await conn.fetch(_LIST)
    schedules = await _schedules(conn, [r["id"] for r in rows if r["hours_enabled"]])
    return [Line(id=r["id"], name=r["name"], trunk=r["trunk"], did=r["did"], language=r["language"],
                 route=route_of(r, "route"), after_hours=route_of(r, "after_hours"),
                 hours=schedules.get(r["id"]) if r["hours_enabled"] else None,
                 greeting=prompt_of(r["greeting_id"], r["greeting_name"], r["greeting_file"], r["greeting_sound"]),
                 skip_menu_for_known=r["skip_menu_for_known"]) for r in rows]


def route_of(r, prefix: str) -> Route:
    """The route in a row's columns <prefix>_kind, <prefix>_queue_id, _queue_name, _user_id... (as _LIST names them)."""
    queue = user = None
    if r[f"{prefix}_queue_id"] is not None:
        queue = QueueRef(r[f"{prefix}_queue_id"], r[f"{prefix}_queue_name"])
    if r[f"{prefix}_user_id"] is not None:
        user = ManagerRef(r[f"{prefix}_user_id"], r[f"{prefix}_user_name"], r[f"{prefix}_user_extension"],
                          bool(r[f"{prefix}_user_active"]))
    menu = MenuRef(r[f"{prefix}_menu_id"], r[f"{prefix}_menu_name"]) if r[f"{prefix}_menu_id"] is not None else None
    return Route(r[f"{prefix}_kind"], queue, user, menu)


async def save_line(conn: asyncpg.Connection, admin_id: int, line_id: int | None, inp: LineInput) -> int:
    inp = inp.cleaned()
    async with conn.transaction():
        before = await _stored(conn, line_id) if line_id is not None else None
        errors = await _target_errors(conn, inp)
        if errors:
            raise ValidationError(errors)
        values = (inp.name, inp.trunk, inp.did, inp.language, inp.route_kind, inp.route_queue_id, inp.route_user_id,
                  inp.hours_enabled, inp.after_hours_kind, inp.after_hours_queue_id, inp.after_hours_user_id,
                  inp.route_menu_id, inp.after_hours_menu_id, inp.greeting_id, inp.greeting_sound,
                  inp.skip_menu_for_known)
        try:
            async with conn.transaction():
                if line_id is None:
                    line_id = await conn.fetchval(
                        """INSERT INTO lines (name, trunk, did, language, route_kind, route_queue_id, route_user_id,
                                              hours_enabled, after_hours_kind, after_hours_queue_id,
                                              after_hours_user_id, route_menu_id, after_hours_menu_id, greeting_id,
                                              greeting_sound, skip_menu_for_known)
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                           RETURNING id""", *values)
                    action = "create"
                else:
                    status = await conn.execute(
                        """UPDATE lines SET name = $2, trunk = $3, did = $4, language = $5, route_kind = $6,
                                  route_queue_id = $7, route_user_id = $8, hours_enabled = $9,
                                  after_hours_kind = $10, after_hours_queue_id = $11, after_hours_user_id = $12,
                                  route_menu_id = $13, after_hours_menu_id = $14, greeting_id = $15,
                                  greeting_sound = $16, skip_menu_for_known = $17, updated_at = now()
                           WHERE id = $1 AND deleted_at IS NULL""", line_id, *values)
                    if status == "UPDATE 0":
                        raise NotFound(_("no line %(id)s") % {"id": line_id})
                    action = "update"
        except asyncpg.UniqueViolationError:
            owner = await conn.fetchval("""SELECT name FROM lines WHERE trunk = $1 AND ltrim(did, '+') = ltrim($2, '+')
                                           AND deleted_at IS NULL""", inp.trunk, inp.did)
            raise ValidationError({"did": _("number %(did)s on trunk %(trunk)s is line %(name)s's already") % {
                "did": inp.did, "trunk": inp.trunk, "name": owner}}) from None
        assert line_id is not None
        await _save_schedule(conn, line_id, inp)
        changes = audit.diff(before, _audited(inp, inp.weekly, inp.holidays))
        if changes:
            await audit.record(conn, admin_id, "line", line_id, action, changes)
        await conn.execute("SELECT pg_notify($1, $2)", CHANGED_CHANNEL, f"line {line_id}")
    return line_id


async def _save_schedule(conn: asyncpg.Connection, line_id: int, inp: LineInput) -> None:
    await conn.execute("DELETE FROM line_hours WHERE line_id = $1", line_id)
    await conn.execute("DELETE FROM line_holidays WHERE line_id = $1", line_id)
    hours: list[tuple[int, int | None, dt.date | None, dt.time, dt.time]] = [
        (line_id, day, None, i.opens, i.closes) for day, intervals in enumerate(inp.weekly) for i in intervals]
    hours += [(line_id, None, h.day, i.opens, i.closes) for h in inp.holidays for i in h.intervals]
    await conn.executemany(
        "INSERT INTO line_hours (line_id, weekday, holiday, opens, closes) VALUES ($1, $2, $3, $4, $5)", hours)
    await conn.executemany("INSERT INTO line_holidays (line_id, day, name) VALUES ($1, $2, $3)",
                           [(line_id, h.day, h.name) for h in inp.holidays])


def _route_text(kind: str | None, target: int | None) -> str | None:
    return f"{kind}:{target}" if kind and target else kind


def _audited(v, weekly, holidays) -> dict:
    """A line's settings as the audit compares them: a LineInput, or a stored row (_stored)."""
    return {"name": v.name, "trunk": v.trunk, "did": v.did, "language": v.language,
            "route": _route_text(v.route_kind, v.route_queue_id or v.route_user_id or v.route_menu_id),
            "hours_enabled": v.hours_enabled,
            "hours": [intervals_text(day) for day in weekly], "holidays": holidays_text(holidays),
            "after_hours": _route_text(v.after_hours_kind,
                                       v.after_hours_queue_id or v.after_hours_user_id or v.after_hours_menu_id),
            "greeting": v.greeting_id or v.greeting_sound, "skip_menu_for_known": v.skip_menu_for_known}


async def _stored(conn: asyncpg.Connection, line_id: int) -> dict | None:
    row = await conn.fetchrow("SELECT * FROM lines WHERE id = $1 AND deleted_at IS NULL", line_id)
    if row is None:
        return None
    schedule = await schedule_of(conn, line_id)
    return _audited(_Row(row), schedule.weekly, schedule.holidays.values())


class _Row:
    """A record read by attribute, as _audited reads a LineInput."""

    def __init__(self, row: asyncpg.Record):
        self._row = row

    def __getattr__(self, name: str):
        return self._row[name]


async def _target_errors(conn: asyncpg.Connection, inp: LineInput) -> dict[str, str]:
    """A route to a queue or user that cannot take calls, or to a deleted menu, is refused when it is saved;
    so is a greeting that is not there."""
    errors: dict[str, str] = {}
    for prefix in ("route", "after_hours"):
        for kind in ("queue", "user", "menu"):
            target_id = getattr(inp, f"{prefix}_{kind}_id")
            error = await target_error(conn, "ivr" if kind == "menu" else kind, target_id)
            if error:
                errors[f"{prefix}_{kind}_id"] = error
    if inp.greeting_id is not None and not await conn.fetchval("SELECT 1 FROM greetings WHERE id = $1",
                                                               inp.greeting_id):
        errors["greeting"] = _("no such greeting")
    return errors


async def target_error(conn: asyncpg.Connection, kind: str, target_id: int | None) -> str | None:
    """Why a route (a line's, a menu key's) cannot lead to this queue, user or menu ('ivr'), or None."""
    if target_id is None:
        return None
    if kind == "queue":
        queue = await conn.fetchrow("SELECT name, deleted_at FROM queues WHERE id = $1", target_id)
        if queue is None:
            return _("no such queue")
        if queue["deleted_at"] is not None:
            return _("queue %(name)s is deleted: choose another") % {"name": queue["name"]}
    elif kind == "user":
        user = await conn.fetchrow("SELECT full_name, deleted_at, is_blocked, extension FROM users WHERE id = $1",
                                   target_id)
        if user is None:
            return _("no such user")
        if user["deleted_at"] is not None or user["is_blocked"]:
            return _("%(name)s is deleted or blocked: choose another user") % {"name": user["full_name"]}
        if not user["extension"]:
            return _("%(name)s has no extension: there is no phone to ring") % {"name": user["full_name"]}
    elif kind == "ivr":
        menu = await conn.fetchrow("SELECT name, deleted_at FROM ivr_menus WHERE id = $1", target_id)
        if menu is None:
            return _("no such menu")
        if menu["deleted_at"] is not None:
            return _("menu %(name)s is deleted: choose another") % {"name": menu["name"]}
    return None


async def delete_line(conn: asyncpg.Connection, admin_id: int, line_id: int) -> None:
    """Soft: the line's calls keep its name."""
    async with conn.transaction():
        name = await conn.fetchval("UPDATE lines SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL "
                                   "RETURNING name", line_id)
        if name is None:
            raise NotFound(_("no line %(id)s") % {"id": line_id})
        await audit.record(conn, admin_id, "line", line_id, "delete", audit.deleted({"name": name}))
        await conn.execute("SELECT pg_notify($1, $2)", CHANGED_CHANNEL, f"line {line_id}")

