"""The user's notifications (J1): the latest, those no tab received marked as new."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm import notifications
from web.db import connection
from web.templating import render


async def notifications_page(request: Request):
    """GET /notifications: the user's own latest notifications; opening the page delivers the new ones."""
    async with connection(request) as conn:
        rows = await notifications.recent(conn, request.user["id"])
        new = [r["id"] for r in rows if not r["browser_sent_at"]]
        await notifications.mark_delivered(conn, request.user["id"], new)
    return await render(request, "notifications.html", {"notifications": rows})


routes = [Route("/notifications", notifications_page, name="notifications.notifications_page", methods=["GET"])]
