"""The Tasks section (C1-C4): my open tasks by deadline first; every column sorts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm import notes, tags
from crm.counterparties import queries as cq
from crm.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.roles import sees_everything
from crm.scheduled_calls import queries as scheduled_q
from crm.tasks import queries as tq
from crm.tasks import service
from crm.tasks.model import OPEN, STATUSES, TaskInput, parse_amount
from crm.users import queries as users_q
from crm.voicemails import queries as voicemails_q
from crm.voicemails.model import can_play
from web.call_rules import rules_of
from web.db import connection
from web.paging import Page
from web.permissions import require_role
from web.schemas import NewTaskQuery, NoteForm, TaskForm, TaskListQuery, TaskTypeForm
from web.templating import render
from web.urls import path_for
from web.validation import OptionalId, form_body, one, parse
from web.validation import query as parse_query
from web.views import scheduled_calls
from web.views.filters import saved_for


def _clock(request: Request):
    return request.app.state.settings.clock


def task_query(request: Request) -> tq.TaskQuery:
    params, me = parse_query(request, TaskListQuery), request.user
    who, status, sort = params.responsible, params.status, params.sort
    page = Page.from_request(request)
    with_tags, without_tags = params.tag, params.notag

    def period(name):
        return (getattr(params, f"{name}_from"), getattr(params, f"{name}_to"))

    return tq.TaskQuery(
        tag_ids=with_tags, without_tag_ids=without_tags, created=period("created"), deadline=period("deadline"),
        closed=period("closed"), timezone=request.app.state.settings.timezone,
        q=params.q, viewer_id=None if sees_everything(me) else me["id"],
        # "my tasks" are mine and those of my queues nobody has taken; "queue": only the untaken ones.
        responsible_id=(me["id"] if who == "me"
                        else None if who in ("", "all", "queue") else one(OptionalId, who, "responsible")),
        with_their_queues=who == "me", untaken_only=who == "queue",
        statuses=OPEN if status == "open" else ((status,) if status in STATUSES else ()),
        deals_only=params.deals == "1", overdue_only=params.overdue == "1", type_id=params.type,
        sort=sort if sort in tq.SORTS else "deadline", descending=params.dir == "desc",
        page=page.number, size=page.size)


async def tasks_list(request: Request):
    query = task_query(request)
    async with connection(request) as conn:
        rows, total = await tq.list_tasks(conn, query, _clock(request).now())
        users = await users_q.list_users(conn)
        all_tags = await tags.list_tags(conn)
        types = await tq.all_task_types(conn)  # archived ones too: their old tasks are found
    return await render(request, "tasks.html", {"types": types,
        "all_tags": all_tags, "with_tags": query.tag_ids, "without_tags": query.without_tag_ids,
        # C5: with "deals only", the sum of the amounts of every deal the filter finds (all pages).
        "deals_sum": (rows[0]["total_amount"] or 0 if rows else 0) if query.deals_only else None,
        **await saved_for(request, "tasks"),
        "rows": rows, "query": query, "page": Page(query.page, query.size, total), "users": users,
        "sorts": tq.SORTS, "params": request.query_params})


def task_input(raw, me, *, queue_task: bool = False) -> TaskInput:
    """The form's task; without a responsible user it is mine, or a queue's task stays its queue's."""
    form = parse(TaskForm, raw)
    if form.type_id is None:
        raise ValidationError({"type_id": _("choose a type")})
    return TaskInput(
        title=form.title, type_id=form.type_id,
        responsible_user_id=form.responsible_user_id or (None if queue_task else me["id"]),
        counterparty_id=form.counterparty_id, deadline_date=form.deadline_date, deadline_time=form.deadline_time,
        remark=form.remark, status=form.status, amount=parse_amount(form.amount), outcome=form.outcome or None,
        participant_ids=form.participant_ids)


async def _form(request: Request, values: dict, *, task_id: int | None = None, error: DomainError | None = None):
    async with connection(request) as conn:
        users = await users_q.list_users(conn)
        types = await tq.task_types(conn)
        task_notes = await notes.notes_of_task(conn, task_id) if task_id else []
        # A callback task's voicemails (issue 15), playable by whoever may hear them.
        rules = await rules_of(request)
        voicemails = [v for v in await voicemails_q.voicemails_of_task(conn, task_id)
                      if can_play(request.user, v, v["listeners"], rules)] if task_id else []
        item_tags = await tags.tags_of(conn, "task", task_id) if task_id else []
        values = {**values, "counterparty_name": await _counterparty_name(conn, values)}
        usable = [t for t in await tags.list_tags(conn) if tags.may_use(request.user, t)]
        # Issue 22: plan a call to the task's number or its client's phones.
        client = int(str(values["counterparty_id"])) if str(values.get("counterparty_id")).isdigit() else None
        phones = [values.get("callback_number") or ""] + await scheduled_q.phones_of(conn, client)
    schedule = scheduled_calls.schedule_form(request, numbers=phones, counterparty_id=client,
                                             task_id=task_id) if task_id else {}
    field_errors = {k: v for k, v in error.errors.items() if k in TaskForm.model_fields} \
        if isinstance(error, ValidationError) else {}
    return await render(request, "task.html", {
        "field_errors": field_errors,
        "item_tags": item_tags, "all_tags": usable, "editable": bool(values.get("can_edit")),
        "tag_action": path_for(request, "tags.tag_task", id=task_id) if task_id else "",
        "values": values, "task_id": task_id, "users": users, "types": types,
        "error": error, "notes": task_notes, "voicemails": voicemails,
        "schedule": schedule}, status_code=error.status if error else 200)


async def _counterparty_name(conn, values: dict) -> str:
    """The name the form's counterparty chooser shows (a form shown again has only the id)."""
    if values.get("counterparty_name"):
        return values["counterparty_name"]
    raw = str(values.get("counterparty_id") or "")
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        return ""
    row = await cq.get_counterparty(conn, int(raw))
    return row["display_name"] if row is not None and row["deleted_at"] is None else ""


async def new_form(request: Request):
    me = request.user
    async with connection(request) as conn:
        types = await tq.task_types(conn)
    params = parse_query(request, NewTaskQuery)
    deal = params.deal == "1"
    type_id = next((t["id"] for t in types if t["is_deal"] == deal), None)
    return await _form(request, {"type_id": type_id, "responsible_user_id": me["id"], "status": "new",
                                 "counterparty_id": params.counterparty or "",
                                 "participant_ids": []})


async def create(request: Request):
    form = await request.form()
    try:
        async with connection(request) as conn:
            task_id = await service.create(conn, request.user, task_input(form, request.user))
    except DomainError as e:
        return await _form(request, {**dict(form), "participant_ids": form.getlist("participant_ids")}, error=e)
    return RedirectResponse(path_for(request, "tasks.task_card", id=task_id), status_code=303)


async def task_card(request: Request):
    async with connection(request) as conn:
        task = await service.card(conn, request.user, request.path_params["id"], _clock(request).now())
    return await _form(request, _with_participant_ids(task), task_id=task["id"])


def _with_participant_ids(task: dict) -> dict:
    return {**task, "participant_ids": [p["id"] for p in task["participants"]]}


async def update(request: Request):
    task_id = request.path_params["id"]
    form = await request.form()
    now = _clock(request).now()
    try:
        async with connection(request) as conn:
            current = await service.card(conn, request.user, task_id, now)
            await service.update(conn, request.user, task_id,
                                 task_input(form, request.user, queue_task=current["queue_id"] is not None), now)
    except DomainError as e:
        if isinstance(e, NotFound):
            raise
        return await _form(request, {**current, **dict(form), "participant_ids": form.getlist("participant_ids"),
                                     "can_edit": True}, task_id=task_id, error=e)
    return RedirectResponse(path_for(request, "tasks.task_card", id=task_id), status_code=303)


async def take(request: Request):
    """POST /tasks/{id}/take: a queue member makes the queue's task theirs."""
    task_id, now = request.path_params["id"], _clock(request).now()
    try:
        async with connection(request) as conn:
            await service.take(conn, request.user, task_id, now)
    except (Conflict, Forbidden) as e:  # someone was first, or not a member: the task as it is now
        async with connection(request) as conn:
            task = await service.card(conn, request.user, task_id, now)
        return await _form(request, _with_participant_ids(task), task_id=task_id, error=e)
    return RedirectResponse(path_for(request, "tasks.task_card", id=task_id), status_code=303)


async def add_note(request: Request):
    task_id = request.path_params["id"]
    form, _ = await form_body(request, NoteForm)
    async with connection(request) as conn:
        await service.card(conn, request.user, task_id, _clock(request).now())
        await notes.add_note(conn, request.user, body=form.body, task_id=task_id)
    return RedirectResponse(path_for(request, "tasks.task_card", id=task_id), status_code=303)


async def _types_page(request: Request, error: DomainError | None = None):
    async with connection(request) as conn:
        types = await tq.all_task_types(conn)
    return await render(request, "admin_task_types.html", {"types": types, "error": error},
                        status_code=error.status if error else 200)


@require_role("admin")
async def task_types_page(request: Request):
    return await _types_page(request)


@require_role("admin")
async def task_type_save(request: Request):
    try:
        form, _ = await form_body(request, TaskTypeForm)
        async with connection(request) as conn:
            await tq.save_task_type(conn, form.id, form.name, form.is_deal, form.archived, request.user["id"])
    except DomainError as e:
        return await _types_page(request, e)
    return RedirectResponse(path_for(request, "tasks.task_types_page"), status_code=303)


routes = [
    Route("/admin/task-types", task_types_page, name="tasks.task_types_page", methods=["GET"]),
    Route("/admin/task-types", task_type_save, name="tasks.task_type_save", methods=["POST"]),
    Route("/tasks", tasks_list, name="tasks.tasks_list", methods=["GET"]),
    Route("/tasks/new", new_form, name="tasks.new_form", methods=["GET"]),
    Route("/tasks/new", create, name="tasks.create", methods=["POST"]),
    Route("/tasks/{id:int}", task_card, name="tasks.task_card", methods=["GET"]),
    Route("/tasks/{id:int}", update, name="tasks.update", methods=["POST"]),
    Route("/tasks/{id:int}/notes", add_note, name="tasks.add_note", methods=["POST"]),
    Route("/tasks/{id:int}/take", take, name="tasks.take", methods=["POST"]),
]
