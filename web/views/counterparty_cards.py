"""Client and company cards, and the forms that create and change them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm import notes, sections, tags, timeline
from crm.calls import queries as calls_q
from crm.calls.attach import attach_call, call_id_by_channel
from crm.counterparties import queries as cq
from crm.counterparties import service, statuses, tray
from crm.counterparties.contacts import KINDS
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.errors import DomainError, Forbidden, ValidationError
from crm.i18n import _
from crm.queues import queries as queues_q
from crm.recordings.policy import can_listen
from crm.shop_orders import queries as shop_orders_q
from crm.sms import service as sms_service
from crm.users import queries as users_q
from crm.voicemails.model import can_play
from crm.webchat import queries as chat_q
from crm.webchat import service as chat_service
from web.call_rules import rules_of, visible
from web.db import connection
from web.jsonout import jsonable
from web.resource import wants_json
from web.schemas import (
    AddressForm,
    CardQuery,
    CompanyNameForm,
    ContactIn,
    CounterpartyForm,
    NewCounterpartyQuery,
    NoteForm,
)
from web.templating import render
from web.urls import path_for
from web.validation import describe, form_body, parse
from web.validation import query as parse_query
from web.views import mail, scheduled_calls, sms_chat
from web.views.audit import card_history
from web.views.auth import zone_choices

SECTION_OF = {"client": "counterparty_lists.clients", "company": "counterparty_lists.companies"}
# Fields the form shows its messages next to; the rest are listed at the top.
_FORM_FIELDS = ("last_name", "first_name", "patronymic", "company_name", "remark", "status", "responsible_user_id",
                "queue_id", "timezone", "phones", "emails", "address", "comment")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def counterparty_input(form: CounterpartyForm, kind: str) -> CounterpartyInput:
    contacts = tuple(ContactInput("phone", v) for v in _lines(form.phones)) + \
        tuple(ContactInput("email", v) for v in _lines(form.emails))
    return CounterpartyInput(
        kind=kind, last_name=form.last_name, first_name=form.first_name, patronymic=form.patronymic,
        company_name=form.company_name, status=form.status, responsible_user_id=form.responsible_user_id,
        queue_id=form.queue_id, remark=form.remark, comment=form.comment, timezone=form.timezone, contacts=contacts,
        addresses=(form.address,) if form.address else (),
        company_ids=(form.company_id,) if form.company_id else (),
    )


def _form_errors(error: DomainError | None, values) -> tuple[dict[str, str], list[str]]:
    """(message next to each field of the form, lines for the rest): contacts.N is a line of
    Phones or E-mails, addresses.N the Address."""
    if not isinstance(error, ValidationError):
        return {}, []
    phones = len(_lines(str(values.get("phones") or "")))
    placed: dict[str, list[str]] = {}
    rest = {}
    for key, message in error.errors.items():
        head, _dot, tail = key.partition(".")
        field = head
        if head == "contacts" and tail.split(".")[0].isascii() and tail.split(".")[0].isdigit():
            field = "phones" if int(tail.split(".")[0]) < phones else "emails"
        elif head == "addresses":
            field = "address"
        if field in _FORM_FIELDS:
            placed.setdefault(field, []).append(message)
        else:
            rest[key] = message
    return {k: "; ".join(v) for k, v in placed.items()}, describe(rest)


def _user(request: Request):
    return request.user


def _region(request: Request) -> str:
    return request.app.state.settings.default_region


async def _form_page(request: Request, kind: str, values: dict, *, counterparty_id: int | None = None,
                     company_id: int | None = None, error: DomainError | None = None):
    async with connection(request) as conn:
        users = await users_q.list_users(conn)
        queues = await queues_q.list_queues(conn)
        company = await cq.get_counterparty(conn, company_id) if company_id else None
        all_statuses = await statuses.list_statuses(conn)
    field_errors, error_lines = _form_errors(error, values)
    return await render(request, "counterparty_form.html", {
        "kind": kind, "values": values, "counterparty_id": counterparty_id, "users": users,
        "statuses": all_statuses, "company": company, "error": error, "queues": queues,
        "field_errors": field_errors, "error_lines": error_lines, "zones": zone_choices(),
    }, status_code=error.status if error else 200)


def _company_id(values) -> int | None:
    """The company of a form shown again: only if it was a valid id."""
    raw = str(values.get("company_id") or "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18 else None


async def card_page(request: Request, counterparty_id: int, *, error: DomainError | None = None,
                    status_code: int | None = None):
    params = request.query_params
    card_query = parse_query(request, CardQuery)
    own_only = card_query.own == "1"
    tpage = card_query.tpage or 1
    async with connection(request) as conn:
        card = await service.card(conn, _user(request), counterparty_id)
        history = await card_history(request, conn, counterparty_id)
        rules = await rules_of(request)
        calls = await calls_q.calls_of_counterparty(conn, counterparty_id, visible=await visible(request, start=3),
                                                    own_only=own_only)
        if "kinds" in params:  # this view only: a GET never writes (the form POSTs to remember)
            kinds = timeline.normalize_kinds(card_query.kinds)
        else:
            kinds = await timeline.preferred_kinds(conn, _user(request)["id"])
        items, more = await timeline.timeline(conn, counterparty_id, kinds, own_only=own_only, page=tpage,
                                              visible_calls=await visible(request, start=5))
        await _hide_unlistenable(conn, _user(request), items, rules)
        await _add_transcripts(conn, items)
        card_chats = await chat_q.conversations_of_card(conn, counterparty_id)  # issue 23: the chats section
        item_tags = await tags.tags_of(conn, "counterparty", counterparty_id)
        usable = [t for t in await tags.list_tags(conn) if tags.may_use(_user(request), t)]
        status_names = await statuses.names(conn)
        sms = await sms_service.chat_of(conn, card)
        mail_threads = await mail.card_mail(conn, card)  # issue 23: the card's e-mail
        shop_orders = await shop_orders_q.of_card(conn, counterparty_id, _user(request))  # issue 24
    return await render(request, "counterparty_card.html", {
        **sms_chat.context(request, sms), **mail_threads,
        "card": card, "history": history, "calls": calls, "timeline": items, "timeline_more": more,
        "card_chats": card_chats,
        "timeline_page": tpage, "kinds": kinds, "own_only": own_only, "timeline_kinds": timeline.KINDS,
        "item_tags": item_tags, "all_tags": usable, "status_names": status_names,
        "editable": card["can_edit"], "tag_action": path_for(request, "tags.tag_counterparty", id=counterparty_id),
        "new_tag_action": path_for(request, "tags.new_counterparty_tag", id=counterparty_id),
        "listen": lambda call: can_listen(_user(request), call, rules),
        "play_voicemail": lambda call: can_play(_user(request), call, call["voicemail_listeners"], rules),
        "contact_kinds": KINDS, "error": error, "shop_orders": shop_orders,
        "schedule": scheduled_calls.schedule_form(  # issue 22: plan a call to one of the card's phones
            request, numbers=[c["value"] for c in card["contacts"] if c["kind"] == "phone"],
            counterparty_id=card["id"]),
    }, status_code=status_code or (error.status if error else 200))


async def _add_transcripts(conn, items: list[dict]) -> None:
    """A web chat on the timeline shows its messages (issue 23)."""
    ids = [i["id"] for i in items if i["kind"] == "chat"]
    if ids:
        transcripts = await chat_service.transcripts(conn, ids)
        for item in items:
            if item["kind"] == "chat":
                item["transcript"] = transcripts.get(item["id"], [])


async def _hide_unlistenable(conn, user, items: list[dict], rules) -> None:
    """No player for recordings the user may not hear (the file itself is refused anyway)."""
    ids = [i["id"] for i in items if i["kind"] == "call" and i["recording_id"]]
    if not ids:
        return
    calls = await calls_q.listeners_of(conn, ids)
    for item in items:
        if item["kind"] == "call" and item["recording_id"] and not can_listen(user, calls[item["id"]], rules):
            item["recording_id"] = None


async def add_note(request: Request):
    counterparty_id = request.path_params["id"]
    try:
        form, _form = await form_body(request, NoteForm)
        async with connection(request) as conn:
            await service.card(conn, _user(request), counterparty_id)  # must exist and be visible
            await notes.add_note(conn, _user(request), body=form.body, counterparty_id=counterparty_id)
    except DomainError as e:
        return await card_page(request, counterparty_id, error=e)
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id), status_code=303)


async def new_form(request: Request):
    params = parse_query(request, NewCounterpartyQuery)
    if params.kind not in SECTION_OF:
        raise ValidationError({"kind": _("must be client or company")})
    values = {"status": "active", "company_id": params.company or "", "phones": params.phones,
              "call_channel": params.call_channel}
    return await _form_page(request, params.kind, values, company_id=params.company)


async def create(request: Request):
    raw = await request.form()
    kind = str(raw.get("kind") or "").strip()
    try:
        form = parse(CounterpartyForm, raw)
        async with connection(request) as conn, conn.transaction():
            new_id = await service.create(conn, _user(request), counterparty_input(form, kind), _region(request))
            if form.call_channel:  # made from the screen pop: the call is the new card's (audited)
                call_id = await call_id_by_channel(conn, form.call_channel)
                await attach_call(conn, _user(request), call_id, new_id, await rules_of(request))
    except DomainError as e:
        return await _form_page(request, kind if kind in SECTION_OF else "client", dict(raw),
                                company_id=_company_id(raw), error=e)
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=new_id), status_code=303)


async def card(request: Request):
    """A counterparty's card: the page at /counterparties/{id}, JSON at /api/counterparties/{id}
    (web/resource.py), the JSON being the card's fields without the page's timeline and history."""
    if wants_json(request):
        async with connection(request) as conn:
            return JSONResponse(jsonable(await service.card(conn, _user(request), request.path_params["id"])))
    return await card_page(request, request.path_params["id"])


async def edit_form(request: Request):
    async with connection(request) as conn:
        card = await service.card(conn, _user(request), request.path_params["id"])
    if not card["can_edit"]:
        raise Forbidden(_("you cannot edit this counterparty"))
    values = {k: card[k] if card[k] is not None else "" for k in (
        "last_name", "first_name", "patronymic", "company_name", "status", "responsible_user_id",
        "queue_id", "remark", "comment", "timezone")}
    return await _form_page(request, card["kind"], values, counterparty_id=card["id"])


async def edit_submit(request: Request):
    counterparty_id = request.path_params["id"]
    raw = await request.form()
    kind = str(raw.get("kind") or "").strip()
    try:
        inp = counterparty_input(parse(CounterpartyForm, raw), kind)
        async with connection(request) as conn:
            await service.update(conn, _user(request), counterparty_id, inp)
    except DomainError as e:
        return await _form_page(request, kind if kind in SECTION_OF else "client", dict(raw),
                                counterparty_id=counterparty_id, company_id=_company_id(raw), error=e)
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id), status_code=303)


async def delete(request: Request):
    counterparty_id = request.path_params["id"]
    async with connection(request) as conn:
        row = await cq.get_counterparty(conn, counterparty_id)
        if row is None:
            raise await service.not_found(conn, counterparty_id)
        await service.delete(conn, _user(request), counterparty_id)
    return RedirectResponse(path_for(request, SECTION_OF[row["kind"]]), status_code=303)


def _card_action(action):
    """A POST on a card: do it, then back to the card; a refusal is shown on the card."""

    async def view(request: Request):
        counterparty_id = request.path_params["id"]
        form = await request.form()
        try:
            async with connection(request) as conn:
                await action(conn, request, counterparty_id, form)
        except DomainError as e:
            return await card_page(request, counterparty_id, error=e)
        return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id), status_code=303)

    return view


async def _add_contact(conn, request, counterparty_id, form):
    fields = parse(ContactIn, form)
    contact = ContactInput(fields.kind, fields.value, fields.note)
    await service.add_contact(conn, _user(request), counterparty_id, contact, _region(request))


async def _change_contact(conn, request, counterparty_id, form):
    contact = await cq.get_contact(conn, request.path_params["contact_id"])
    if contact is None or contact["counterparty_id"] != counterparty_id:
        raise ValidationError({"contact": _("no such contact on this card")})
    fields = parse(ContactIn, form)
    note = fields.note if "note" in form else contact["note"]
    await service.update_contact(conn, _user(request), contact["id"], ContactInput(contact["kind"], fields.value, note),
                                 _region(request))


async def _remove_contact(conn, request, counterparty_id, form):
    contact = await cq.get_contact(conn, request.path_params["contact_id"])
    if contact is None or contact["counterparty_id"] != counterparty_id:
        raise ValidationError({"contact": _("no such contact on this card")})
    await service.remove_contact(conn, _user(request), contact["id"])


async def _add_address(conn, request, counterparty_id, form):
    await service.add_address(conn, _user(request), counterparty_id, parse(AddressForm, form).address)


async def _remove_address(conn, request, counterparty_id, form):
    await service.remove_address(conn, _user(request), counterparty_id, request.path_params["address_id"])


async def _join_company(conn, request, counterparty_id, form):
    name = parse(CompanyNameForm, form).company_name
    matches = await cq.companies_by_name(conn, name)
    if len(matches) != 1:
        raise ValidationError({"company_name": (await sections.load(conn))["company"].not_one_called(name)})
    await service.join_company(conn, _user(request), counterparty_id, matches[0]["id"])


async def _leave_company(conn, request, counterparty_id, form):
    await service.join_company(conn, _user(request), counterparty_id, request.path_params["company_id"], leave=True)


async def remember_timeline_kinds(request: Request):
    """The timeline filter's choice, remembered for every card; then the card shows it."""
    counterparty_id = request.path_params["id"]
    form = await request.form()
    async with connection(request) as conn:
        await service.card(conn, _user(request), counterparty_id)  # must exist and be visible
        await timeline.remember_kinds(conn, _user(request)["id"], timeline.normalize_kinds(form.getlist("kinds")))
    own = "?own=1" if form.get("own") == "1" else ""
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id) + own, status_code=303)


async def collapse(request: Request):
    counterparty_id = request.path_params["id"]
    async with connection(request) as conn:
        row = await service.card(conn, _user(request), counterparty_id)
        await tray.collapse(conn, _user(request)["id"], counterparty_id)
    return RedirectResponse(path_for(request, SECTION_OF[row["kind"]]), status_code=303)


async def reopen(request: Request):
    counterparty_id = request.path_params["id"]
    async with connection(request) as conn:
        await tray.reopen(conn, _user(request)["id"], counterparty_id)
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id), status_code=303)


routes = [
    Route("/counterparties/new", new_form, name="counterparty_cards.new_form", methods=["GET"]),
    Route("/counterparties/new", create, name="counterparty_cards.create", methods=["POST"]),
    Route("/counterparties/{id:int}", card, name="counterparty_cards.card", methods=["GET"]),
    Route("/counterparties/{id:int}/edit", edit_form, name="counterparty_cards.edit_form", methods=["GET"]),
    Route("/counterparties/{id:int}/edit", edit_submit, name="counterparty_cards.edit_submit", methods=["POST"]),
    Route("/counterparties/{id:int}/delete", delete, name="counterparty_cards.delete", methods=["POST"]),
    Route("/counterparties/{id:int}/contacts", _card_action(_add_contact),
          name="counterparty_cards.add_contact", methods=["POST"]),
    Route("/counterparties/{id:int}/contacts/{contact_id:int}", _card_action(_change_contact),
          name="counterparty_cards.change_contact", methods=["POST"]),
    Route("/counterparties/{id:int}/contacts/{contact_id:int}/delete", _card_action(_remove_contact),
          name="counterparty_cards.remove_contact",
          methods=["POST"]),
    Route("/counterparties/{id:int}/addresses", _card_action(_add_address),
          name="counterparty_cards.add_address", methods=["POST"]),
    Route("/counterparties/{id:int}/addresses/{address_id:int}/delete", _card_action(_remove_address),
          name="counterparty_cards.remove_address",
          methods=["POST"]),
    Route("/counterparties/{id:int}/companies", _card_action(_join_company),
          name="counterparty_cards.join_company", methods=["POST"]),
    Route("/counterparties/{id:int}/companies/{company_id:int}/leave", _card_action(_leave_company),
          name="counterparty_cards.leave_company",
          methods=["POST"]),
    Route("/counterparties/{id:int}/notes", add_note, name="counterparty_cards.add_note", methods=["POST"]),
    Route("/counterparties/{id:int}/timeline-kinds", remember_timeline_kinds,
          name="counterparty_cards.remember_timeline_kinds", methods=["POST"]),
    Route("/counterparties/{id:int}/collapse", collapse, name="counterparty_cards.collapse", methods=["POST"]),
    Route("/counterparties/{id:int}/reopen", reopen, name="counterparty_cards.reopen", methods=["POST"]),
]
