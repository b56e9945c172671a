"""What each route accepts: pydantic models of its JSON body, form or query string.

Types and outer sizes only; the domain (crm/) keeps its rules (which statuses exist,
who may do what). Limits come from web/limits.py; the field types from web/validation.py.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web import limits as L
from web.validation import (Checkbox, Id, Ids, OptionalDate, OptionalId, OptionalTime, PageNumber, Schema,
                            bounded_int, optional_text, secret, text)

Short = text(L.SHORT)
Name = text(L.NAME)
Search = text(L.SEARCH)
Shorts = Annotated[tuple[Short, ...], Field(max_length=L.LIST_ITEMS)]
Seconds = bounded_int(0, L.SECONDS_MAX)
PageSize = bounded_int(1, L.PAGE_MAX)
# A textarea of one value a line (phones, e-mails on the new-card form).
Lines = text(L.LIST_ITEMS * (L.CONTACT_VALUE + 1))


# ---- query strings -------------------------------------------------------------------------------

class PageQuery(Schema):
    page: PageNumber = None
    size: PageSize = None


class TagFilterQuery(Schema):
    tag: Ids = ()
    notag: Ids = ()


class CounterpartyListQuery(PageQuery, TagFilterQuery):
    q: Search = ""
    status: Short = ""
    sort: Short = "name"
    dir: Short = ""
    responsible: OptionalId = None
    company: OptionalId = None


class TaskListQuery(PageQuery, TagFilterQuery):
    q: Search = ""
    responsible: Short = "me"
    status: Short = "open"
    sort: Short = "deadline"
    dir: Short = ""
    deals: Short = ""
    overdue: Short = ""
    created_from: OptionalDate = None
    created_to: OptionalDate = None
    deadline_from: OptionalDate = None
    deadline_to: OptionalDate = None
    closed_from: OptionalDate = None
    closed_to: OptionalDate = None


class CardQuery(Schema):
    own: Short = ""
    tpage: PageNumber = None
    kinds: Shorts = ()


class NewCounterpartyQuery(Schema):
    kind: Short = "client"
    company: OptionalId = None
    phones: Lines = ""


class NewTaskQuery(Schema):
    deal: Short = ""
    counterparty: OptionalId = None


class PeriodQuery(Schema):
    """Reports: from and to are dates (the names are Python keywords, hence the aliases)."""
    start: OptionalDate = Field(None, alias="from")
    end: OptionalDate = Field(None, alias="to")
    group: Short = "day"
    by: Short = "type"
    metric: Short = ""


# ---- counterparties ------------------------------------------------------------------------------

class ContactIn(Schema):
    kind: Short = ""
    value: text(L.CONTACT_VALUE) = ""
    note: text(L.CONTACT_NOTE) = ""


class CounterpartyFields(Schema):
    last_name: Name = ""
    first_name: Name = ""
    patronymic: Name = ""
    company_name: Name = ""
    status: Short = ""
    remark: text(L.REMARK) = ""
    comment: text(L.COMMENT) = ""
    responsible_user_id: OptionalId = None
    queue_id: OptionalId = None


class CounterpartyIn(CounterpartyFields):
    """POST /api/counterparties."""
    kind: Short = ""
    contacts: Annotated[tuple[ContactIn, ...], Field(max_length=L.LIST_ITEMS)] = ()
    addresses: Annotated[tuple[text(L.ADDRESS), ...], Field(max_length=L.LIST_ITEMS)] = ()
    company_ids: Ids = ()


class CounterpartyForm(CounterpartyFields):
    """The new/edit card form."""
    kind: Short = ""
    status: Short = "active"
    phones: Lines = ""
    emails: Lines = ""
    address: text(L.ADDRESS) = ""
    company_id: OptionalId = None


class AddressForm(Schema):
    address: text(L.ADDRESS) = ""


class CompanyNameForm(Schema):
    company_name: Name = ""


class NoteForm(Schema):
    body: text(L.NOTE) = ""


class SetTagForm(Schema):
    tag_id: OptionalId = None
    on: Short = ""


# ---- calls ---------------------------------------------------------------------------------------

class ClickToCallIn(Schema):
    number: text(L.PHONE)
    user_id: OptionalId = None


class AttachIn(Schema):
    counterparty_id: Id


class CallCommentIn(Schema):
    comment: text(L.CALL_COMMENT)


# ---- users and settings --------------------------------------------------------------------------

class UserIn(Schema):
    """POST /api/users and the admin's new-user form."""
    login: text(L.LOGIN)
    full_name: Name
    password: secret(L.PASSWORD)
    role: Short
    extension: optional_text(L.EXTENSION) = None
    email: optional_text(L.EMAIL) = None


class PasswordIn(Schema):
    """POST /api/users/{id}/password."""
    password: secret(L.PASSWORD)


class UserForm(UserIn):
    login: text(L.LOGIN) = ""
    full_name: Name = ""
    password: secret(L.PASSWORD) = ""
    role: Short = ""


class UserChangeForm(Schema):
    full_name: Name = ""
    role: Short = ""
    extension: optional_text(L.EXTENSION) = None
    email: optional_text(L.EMAIL) = None
    is_blocked: Checkbox = False
    password: secret(L.PASSWORD) = ""


class SectionNamesForm(Schema):
    section_clients: Short = ""
    section_companies: Short = ""


class ExportRolesForm(Schema):
    roles: Shorts = ()


class RecordingForm(Schema):
    mode: Short = ""
    excluded: Ids = ()


# ---- tasks, tags, filters, queues, imports --------------------------------------------------------

class TaskForm(Schema):
    title: text(L.TITLE) = ""
    type_id: OptionalId = None
    responsible_user_id: OptionalId = None
    counterparty_id: OptionalId = None
    deadline_date: OptionalDate = None
    deadline_time: OptionalTime = None
    remark: text(L.COMMENT) = ""
    status: Short = "new"
    amount: Short = ""
    outcome: Short = ""
    participant_ids: Ids = ()


class TaskTypeForm(Schema):
    id: OptionalId = None
    name: Short = ""
    is_deal: Checkbox = False
    archived: Checkbox = False


class TagForm(Schema):
    id: OptionalId = None
    name: text(L.TAG_NAME) = ""
    description: text(L.DESCRIPTION) = ""
    allowed_roles: Shorts = ()
    queue_id: OptionalId = None


class FilterForm(Schema):
    section: Short = ""
    name: text(L.FILTER_NAME) = ""
    query: text(L.FILTER_QUERY) = ""


class QueueForm(Schema):
    name: Short = ""
    strategy: Short = "ringall"
    ring_seconds: Seconds = None
    max_wait_seconds: Seconds = None
    moh_class: Short = "default"
    member_ids: Ids = ()


class RoutingForm(Schema):
    manager_ring_seconds: Seconds = None


class ImportForm(Schema):
    kind: Short = ""
    mode: Short = "valid"
