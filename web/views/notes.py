"""A note opened from the timeline or its task (B3): read it, change it, delete it.

Who reads a note: whoever may open its card or task. Who changes or deletes it: its author, a
supervisor or an admin (crm/notes.can_change); every change is audited (crm/notes)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm import notes
from crm.counterparties import service as cp_service
from crm.errors import DomainError, NotFound
from crm.i18n import _
from crm.tasks import service as task_service
from web.db import connection
from web.schemas import NoteForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body


async def _readable(request: Request, conn, note_id: int):
    """The note, if this user may open the card or task it is on; else not found."""
    note = await notes.get_note(conn, note_id)
    if note is None:
        raise NotFound(_("no note %(number)d") % {"number": note_id})
    if note["counterparty_id"] is not None:
        await cp_service.card(conn, request.user, note["counterparty_id"])
    if note["task_id"] is not None:
        await task_service.card(conn, request.user, note["task_id"], request.app.state.settings.clock.now())
    return note


def _back(request: Request, note) -> str:
    if note["counterparty_id"] is not None:
        return path_for(request, "counterparty_cards.card", id=note["counterparty_id"])
    return path_for(request, "tasks.task_card", id=note["task_id"])


async def _page(request: Request, note_id: int, *, body: str | None = None, error: DomainError | None = None):
    async with connection(request) as conn:
        note = await _readable(request, conn, note_id)
    return await render(request, "note.html", {
        "note": note, "body": note["body"] if body is None else body, "back": _back(request, note),
        "can_change": notes.can_change(request.user, note), "error": error},
        status_code=error.status if error else 200)


async def note_page(request: Request):
    return await _page(request, request.path_params["id"])


async def change(request: Request):
    note_id = request.path_params["id"]
    try:
        form, _raw = await form_body(request, NoteForm)
        async with connection(request) as conn:
            await _readable(request, conn, note_id)
            await notes.change_note(conn, request.user, note_id, form.body)
    except NotFound:
        raise
    except DomainError as e:
        raw = await request.form()
        return await _page(request, note_id, body=str(raw.get("body") or ""), error=e)
    return RedirectResponse(path_for(request, "notes.note_page", id=note_id), status_code=303)


async def delete(request: Request):
    note_id = request.path_params["id"]
    try:
        async with connection(request) as conn:
            note = await _readable(request, conn, note_id)
            await notes.delete_note(conn, request.user, note_id)
    except NotFound:
        raise
    except DomainError as e:
        return await _page(request, note_id, error=e)
    return RedirectResponse(_back(request, note), status_code=303)


routes = [
    Route("/notes/{id:int}", note_page, name="notes.note_page", methods=["GET"]),
    Route("/notes/{id:int}", change, name="notes.change", methods=["POST"]),
    Route("/notes/{id:int}/delete", delete, name="notes.delete", methods=["POST"]),
]
