"""Excel export of the admin's lists (K2, issue 20): tags, queues and users. For admins only (the
lists' only readers; the export roles always hold the admin); each export audited like the others."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm import audit, tags
from crm.export.xlsx import Column, write_xlsx
from crm.i18n import N_, gettext
from crm.labels import label
from crm.queues import queries as queues_q
from crm.users import queries as users_q
from web.permissions import require_role
from web.views.export import _may_export, _removed_on_failure, _response, _translated, _zone

TAG_COLUMNS = [Column(N_("ID"), "id", "int", 8), Column(N_("Name"), "name", width=24),
               Column(N_("Description"), "description", width=40), Column(N_("Who may use it"), "roles", width=30),
               Column(N_("Routes callers to"), "queue_name", width=20), Column(N_("Used"), "uses", "int", 8)]
QUEUE_COLUMNS = [Column(N_("ID"), "id", "int", 8), Column(N_("Name"), "name", width=24),
                 Column(N_("Strategy"), "strategy_text", width=14), Column(N_("Ring, s"), "ring_seconds", "int", 9),
                 Column(N_("Maximum wait, s"), "max_wait_seconds", "int", 12),
                 Column(N_("Music on hold"), "moh_class", width=14), Column(N_("Members"), "members_text", width=40)]
USER_COLUMNS = [Column(N_("ID"), "id", "int", 8), Column(N_("Login"), "login", width=16),
                Column(N_("Full name"), "full_name", width=28), Column(N_("Role"), "role_text", width=14),
                Column(N_("Extension"), "extension", width=10), Column(N_("E-mail"), "email", width=28),
                Column(N_("State"), "state", width=10), Column(N_("Created"), "created_at", "datetime", 17)]


async def _export(request: Request, name: str, sheet: str, action: str, columns: list[Column], rows: list[dict]):
    async def one_batch():
        yield rows

    path, count = await write_xlsx(gettext(sheet), _translated(columns), one_batch(), tz=_zone(request))
    with _removed_on_failure(path):
        async with request.app.state.pool.acquire() as conn:
            await audit.record(conn, request.user["id"], "export", None, action, {"rows": count})
    return _response(path, count, name)


@require_role("admin")
async def tags_export(request: Request):
    await _may_export(request)
    async with request.app.state.pool.acquire() as conn:
        rows = [{**dict(t), "roles": ", ".join(label("role", r) for r in t["allowed_roles"]) or gettext("everyone")}
                for t in await tags.list_tags(conn, with_uses=True)]
    return await _export(request, "tags", N_("Tags"), "tag list", TAG_COLUMNS, rows)


@require_role("admin")
async def queues_export(request: Request):
    await _may_export(request)
    async with request.app.state.pool.acquire() as conn:
        rows = [{"id": q.id, "name": q.name, "strategy_text": label("queue_strategy", q.strategy),
                 "ring_seconds": q.ring_seconds, "max_wait_seconds": q.max_wait_seconds, "moh_class": q.moh_class,
                 "members_text": ", ".join(m.name for m in q.members)}
                for q in await queues_q.list_queues(conn)]
    return await _export(request, "queues", N_("Queues"), "queue list", QUEUE_COLUMNS, rows)


@require_role("admin")
async def users_export(request: Request):
    """Users without anything secret: no password hashes, no second-factor data."""
    await _may_export(request)
    async with request.app.state.pool.acquire() as conn:
        rows = [{"id": u["id"], "login": u["login"], "full_name": u["full_name"], "role_text": label("role", u["role"]),
                 "extension": u["extension"], "email": u["email"], "created_at": u["created_at"],
                 "state": (pgettext_user("deleted") if u["deleted_at"] else pgettext_user("blocked")
                           if u["is_blocked"] else pgettext_user("active"))}
                for u in await users_q.list_users(conn, include_deleted=True)]
    return await _export(request, "users", N_("Users"), "user list", USER_COLUMNS, rows)


def pgettext_user(word: str) -> str:
    """A user's state in the words of the users page."""
    from crm.i18n import pgettext

    return {"deleted": pgettext("user", "deleted"), "blocked": pgettext("user", "blocked"),
            "active": pgettext("user", "active")}[word]


routes = [
    Route("/admin/tags.xlsx", tags_export, name="admin_export.tags_export", methods=["GET"]),
    Route("/admin/queues.xlsx", queues_export, name="admin_export.queues_export", methods=["GET"]),
    Route("/admin/users.xlsx", users_export, name="admin_export.users_export", methods=["GET"]),
]
