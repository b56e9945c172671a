"""What each route accepts: pydantic models of its JSON body, form or query string.

Types and outer sizes only; the domain (crm/) keeps its rules (which statuses exist,
who may do what). Limits come from web/limits.py; the field types from web/validation.py.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web import limits as L
from web.validation import (
    BlankIsNone,
    Checkbox,
    Id,
    Ids,
    OptionalDate,
    OptionalId,
    OptionalTime,
    PageNumber,
    Schema,
    Secret,
    Text,
    Trimmed,
)

Short = Annotated[str, Text(L.SHORT)]
Name = Annotated[str, Text(L.NAME)]
Search = Annotated[str, Text(L.SEARCH)]
Shorts = Annotated[tuple[Short, ...], Field(max_length=L.LIST_ITEMS)]
# Whole numbers in a range, or None when left blank.
Seconds = Annotated[Annotated[int, Field(ge=0, le=L.SECONDS_MAX)] | None, BlankIsNone]
PageSize = Annotated[Annotated[int, Field(ge=1, le=L.PAGE_MAX)] | None, BlankIsNone]
# A textarea of one value a line (phones, e-mails on the new-card form).
Lines = Annotated[str, Text(L.LIST_ITEMS * (L.CONTACT_VALUE + 1))]
Password = Annotated[str, Secret(L.PASSWORD)]
# Nothing (blank or null) is None.
Extension = Annotated[Annotated[str, Trimmed(L.EXTENSION)] | None, BlankIsNone]
Email = Annotated[Annotated[str, Trimmed(L.EMAIL)] | None, BlankIsNone]


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
    type: OptionalId = None  # a task type's id (issue 20)
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


class CallListQuery(PageQuery, TagFilterQuery):
    """The call log's filters (web/views/calls.py): several of each list."""
    start: OptionalDate = Field(None, alias="from")
    end: OptionalDate = Field(None, alias="to")
    direction: Shorts = ()
    status: Shorts = ()
    operator: Ids = ()
    queue: Ids = ()
    line: Ids = ()
    number: Short = ""
    counterparty: OptionalId = None
    q: Search = ""


class UnknownCallersQuery(PageQuery):
    """The unknown callers list: numbers that called in the last `days` days."""
    days: Annotated[Annotated[int, Field(ge=1, le=366)] | None, BlankIsNone] = None


class CardQuery(Schema):
    own: Short = ""
    tpage: PageNumber = None
    kinds: Shorts = ()


class NewCounterpartyQuery(Schema):
    kind: Short = "client"
    company: OptionalId = None
    phones: Lines = ""
    call_channel: Annotated[str, Text(L.CHANNEL)] = ""  # the screen pop's call: attached to the new card (H5)


class CounterpartyFindQuery(Schema):
    """The task form's counterparty search (issue 20): clients and companies as one types."""
    q: Search = ""


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


class CallsReportQuery(PeriodQuery, TagFilterQuery):
    """Call statistics (F5) of the calls whose counterparty has the `tag`s and none of the `notag`s (D2)."""


class DealsReportQuery(PeriodQuery, TagFilterQuery):
    """The deals report's filters (C5, D2): responsible (a user id), a task status."""
    responsible: OptionalId = None
    status: Short = ""


# ---- counterparties ------------------------------------------------------------------------------

class ContactIn(Schema):
    kind: Short = ""
    value: Annotated[str, Text(L.CONTACT_VALUE)] = ""
    note: Annotated[str, Text(L.CONTACT_NOTE)] = ""


class CounterpartyFields(Schema):
    last_name: Name = ""
    first_name: Name = ""
    patronymic: Name = ""
    company_name: Name = ""
    status: Short = ""
    remark: Annotated[str, Text(L.REMARK)] = ""
    comment: Annotated[str, Text(L.COMMENT)] = ""
    responsible_user_id: OptionalId = None
    queue_id: OptionalId = None
    timezone: Short = ""


class CounterpartyIn(CounterpartyFields):
    """POST /api/counterparties."""
    kind: Short = ""
    contacts: Annotated[tuple[ContactIn, ...], Field(max_length=L.LIST_ITEMS)] = ()
    addresses: Annotated[tuple[Annotated[str, Text(L.ADDRESS)], ...], Field(max_length=L.LIST_ITEMS)] = ()
    company_ids: Ids = ()


class CounterpartyForm(CounterpartyFields):
    """The new/edit card form."""
    kind: Short = ""
    status: Short = "active"
    phones: Lines = ""
    emails: Lines = ""
    address: Annotated[str, Text(L.ADDRESS)] = ""
    company_id: OptionalId = None
    call_channel: Annotated[str, Text(L.CHANNEL)] = ""  # the screen pop's call: attached to the new card (H5)


class AddressForm(Schema):
    address: Annotated[str, Text(L.ADDRESS)] = ""


class CompanyNameForm(Schema):
    company_name: Name = ""


class NoteForm(Schema):
    body: Annotated[str, Text(L.NOTE)] = ""


class SetTagForm(Schema):
    tag_id: OptionalId = None
    on: Short = ""


# ---- calls ---------------------------------------------------------------------------------------

class ClickToCallIn(Schema):
    number: Annotated[str, Text(L.PHONE)]
    user_id: OptionalId = None


class AttachIn(Schema):
    counterparty_id: Id


class CallPageQuery(Schema):
    """The call's page: `find` looks for a counterparty to attach the call to."""
    find: Search = ""


class CallCommentIn(Schema):
    comment: Annotated[str, Text(L.CALL_COMMENT)]


class TransferForm(Schema):
    """The call page's Transfer: `to` is user:N, queue:N or number: (crm/transfers/requests.py)."""

    to: Short = ""
    number: Annotated[Annotated[str, Trimmed(L.PHONE)] | None, BlankIsNone] = None


class TransferIn(Schema):
    """One of them (crm/transfers/requests.py says which is missing or too many)."""

    user_id: OptionalId = None
    queue_id: OptionalId = None
    number: Annotated[Annotated[str, Trimmed(L.PHONE)] | None, BlankIsNone] = None


class SuperviseIn(Schema):
    """Listen-in, whisper or barge (crm/supervision/): the mode; the domain says which exist."""

    mode: Short = ""


# ---- users and settings --------------------------------------------------------------------------

class UserIn(Schema):
    """POST /api/users and the admin's new-user form."""
    login: Annotated[str, Text(L.LOGIN)]
    full_name: Name
    password: Password
    role: Short
    extension: Extension = None
    email: Email = None
    customer_id: OptionalId = None  # role customer (issue 22): its customer


class PasswordIn(Schema):
    """POST /api/users/{id}/password."""
    password: Password
    # The user must choose their own at the next login (issue 17).
    force_change: bool = False


class UserForm(UserIn):
    login: Annotated[str, Text(L.LOGIN)] = ""
    full_name: Name = ""
    password: Password = ""
    role: Short = ""


class UserChangeForm(Schema):
    full_name: Name = ""
    role: Short = ""
    extension: Extension = None
    email: Email = None
    is_blocked: Checkbox = False
    customer_id: OptionalId = None  # role customer (issue 22): its customer
    password: Password = ""
    force_password_change: Checkbox = False
    # Where the phone is rung (crm/dialing/technology.py; blank: PJSIP/<extension>), and follow me.
    dial: Short = ""
    mobile: Annotated[str, Text(L.PHONE)] = ""
    follow_me_seconds: Seconds = None


class SectionNamesForm(Schema):
    """Settings: each section's names per language (crm/sections.py); field names in
    web/views/admin.py section_field (English keeps the names the form had before)."""
    section_clients: Short = ""
    section_clients_one: Short = ""
    section_clients_ru: Short = ""
    section_clients_one_ru: Short = ""
    section_clients_gender_ru: Short = ""
    section_companies: Short = ""
    section_companies_one: Short = ""
    section_companies_ru: Short = ""
    section_companies_one_ru: Short = ""
    section_companies_gender_ru: Short = ""


class ExportRolesForm(Schema):
    roles: Shorts = ()


ScriptText = Annotated[str, Text(L.CALL_SCRIPT)]


class CallScriptForm(Schema):
    call_script: ScriptText = ""


class PopScriptQuery(Schema):
    queue: OptionalId = None
    counterparty: OptionalId = None


class DialPrefixForm(Schema):
    dial_prefix: Short = ""  # "": none


class RetentionForm(Schema):
    """Retention (issue 25): months as typed ("" keeps forever), checked in crm/retention/policy.py."""
    recordings_months: Short = ""
    recordings_action: Short = ""
    calls_months: Short = ""
    calls_action: Short = ""


class CentreLanguageForm(Schema):
    language: Short = ""  # "": each browser's


class AccountForm(Schema):
    """A user's own language and time zone; "": the call centre's."""
    language: Short = ""
    timezone: Short = ""
    day_start_hour: int | None = Field(default=None, ge=0, le=23)


class FollowMeForm(Schema):
    """A user's own mobile and the seconds at the desk before it rings (blank: never)."""
    mobile: Annotated[str, Text(L.PHONE)] = ""
    follow_me_seconds: Seconds = None


class PhoneModeForm(Schema):
    """Which of a user's phones ring (issue 19): desk, browser or both."""
    phone_mode: Short = "desk"


class RecordingForm(Schema):
    mode: Short = ""
    excluded: Ids = ()


# ---- tasks, tags, filters, queues, imports --------------------------------------------------------

class TaskForm(Schema):
    title: Annotated[str, Text(L.TITLE)] = ""
    type_id: OptionalId = None
    responsible_user_id: OptionalId = None
    counterparty_id: OptionalId = None
    deadline_date: OptionalDate = None
    deadline_time: OptionalTime = None
    remark: Annotated[str, Text(L.COMMENT)] = ""
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
    name: Annotated[str, Text(L.TAG_NAME)] = ""
    description: Annotated[str, Text(L.DESCRIPTION)] = ""
    allowed_roles: Shorts = ()
    queue_id: OptionalId = None
    call_script: ScriptText | None = None  # the admin's form (H5); absent: the script is left as it is


class FilterForm(Schema):
    section: Short = ""
    name: Annotated[str, Text(L.FILTER_NAME)] = ""
    query: Annotated[str, Text(L.FILTER_QUERY)] = ""


class ImportForm(Schema):
    kind: Short = ""
    mode: Short = "valid"


class StatusForm(Schema):
    """A counterparty status's name (issue 20)."""
    name: Short = ""


class StatusArchiveForm(Schema):
    archived: Short = ""


class MoveForm(Schema):
    """Move an item of an admin's ordered list (pause reasons, statuses) up (-1) or down (1)."""
    steps: Annotated[int, Field(ge=-100, le=100)] = 0
