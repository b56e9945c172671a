"""Reading a request into a pydantic model at the edge, and the field types the models share.

Every view reads its JSON body, form or query string through `json_body`, `form_body` or
`query`: wrong types, sizes and NUL bytes become crm's ValidationError naming each field,
which web/errors.py turns into a 400 (JSON `{"error", "fields"}` or the form again with
its messages). JSON is validated strictly (`true` is not a number, 123 is not text);
forms and query strings are text by nature and are parsed leniently ("12" is 12, "" is
no value).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import pydantic
from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import ErrorDetails, PydanticCustomError
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request

from crm.errors import ValidationError
from crm.i18n import N_, gettext
from crm.i18n import gettext as _
from web import limits

M = TypeVar("M", bound=BaseModel)
NUL_MESSAGE = N_("contains a NUL character")


class Schema(BaseModel):
    """Base of every input model: unknown keys are ignored, text is trimmed."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", NUL_MESSAGE)
    return value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _null_is_blank(value: Any) -> Any:
    return "" if value is None else value


def _drop_blanks(value: Any) -> Any:
    """A list from a form: its empty choices ("any tag") are no choice."""
    return [v for v in value if not (isinstance(v, str) and not v.strip())] if isinstance(value, list) else value


NullIsBlank = BeforeValidator(_null_is_blank)  # JSON null is ""
BlankIsNone = BeforeValidator(_blank_is_none)  # nothing (blank or null) is None
NoNul = AfterValidator(_no_nul)


# Field types are written as Annotated[<type>, <constraints>] so that type checkers see the
# plain type; the constraints below are pydantic metadata, expanded in place where they stand.

@dataclass(frozen=True)
class Trimmed(GroupedMetadata):
    """Annotated[str, Trimmed(n)]: at most n characters after trimming, without NUL bytes."""

    max_length: int

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(strip_whitespace=True, max_length=self.max_length)
        yield NoNul


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """Annotated[str, Text(n)]: Trimmed(n), and JSON null is ""."""

    max_length: int

    def __iter__(self) -> Iterator[Any]:
        yield NullIsBlank
        yield from Trimmed(self.max_length)


@dataclass(frozen=True)
class Secret(GroupedMetadata):
    """Annotated[str, Secret(n)]: a password, kept as typed (not trimmed), bounded, without NUL bytes."""

    max_length: int

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(max_length=self.max_length)
        yield NoNul


def _checkbox(value: Any) -> Any:
    return value in ("on", "1", "true", "yes") if isinstance(value, str) else value


Id = Annotated[int, Field(ge=1, le=limits.ID_MAX)]
OptionalId = Annotated[Id | None, BlankIsNone]
# A whole number in [1, PAGE_MAX], or None when left blank.
PageNumber = Annotated[Annotated[int, Field(ge=1, le=limits.PAGE_MAX)] | None, BlankIsNone]
Checkbox = Annotated[bool, BeforeValidator(_checkbox)]
Date = Annotated[dt.date, Field(ge=limits.DATE_MIN, le=limits.DATE_MAX)]
OptionalDate = Annotated[Date | None, BlankIsNone]
OptionalTime = Annotated[dt.time | None, BlankIsNone]
Ids = Annotated[tuple[Id, ...], BeforeValidator(_drop_blanks), Field(max_length=limits.LIST_ITEMS)]


# Messages for users: short, in words, without pydantic's jargon; translated where they are
# made (field_errors), in the request's language. Parameters come from pydantic's context.
_MESSAGES = {
    "missing": N_("is required"),
    "int_type": N_("must be a whole number"), "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"), "int_parsing_size": N_("is too big"),
    "string_type": N_("must be text"), "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "string_too_long": N_("is longer than %(max_length)s characters"),
    "too_long": N_("has more than %(max_length)s items"),
    "less_than_equal": N_("must be at most %(le)s"), "greater_than_equal": N_("must be at least %(ge)s"),
    "date_type": N_("must be a date, YYYY-MM-DD"), "date_parsing": N_("must be a date, YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("must be a date, YYYY-MM-DD"),
    "date_from_datetime_inexact": N_("must be a date, YYYY-MM-DD"),
    "time_type": N_("must be a time, HH:MM"), "time_parsing": N_("must be a time, HH:MM"),
    "list_type": N_("must be a list"), "tuple_type": N_("must be a list"), "dict_type": N_("must be an object"),
    "model_type": N_("must be a JSON object"), "model_attributes_type": N_("must be an object"),
    "json_invalid": N_("is not valid JSON"), "json_type": N_("is not valid JSON"),
    "literal_error": N_("must be one of %(expected)s"),
    "nul_character": NUL_MESSAGE,
}


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "too_long" and isinstance(error.get("input"), str):
        kind = "string_too_long"
    template = _MESSAGES.get(kind)
    if template is None:
        msg = error["msg"].removeprefix("Value error, ")
        return msg[:1].lower() + msg[1:]
    return gettext(template) % dict(error.get("ctx") or {})


def field_errors(exc: pydantic.ValidationError, *, flat: bool = False) -> dict[str, str]:
    """{"contacts.0.value": "must be text", ...}: the first problem of each field.
    flat: by top-level name only (a form's or query string's repeated key is one field)."""
    out: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"][:1] if flat else error["loc"]
        where = ".".join(str(p) for p in loc) or "body"
        out.setdefault(where, _message(error))
    return out


def _validate(model: type[M], data: Any, *, json: bool = False) -> M:
    try:
        if json:
            return model.model_validate_json(data, strict=True)
        return model.model_validate(data)
    except pydantic.ValidationError as e:
        raise ValidationError(field_errors(e, flat=not json)) from None


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return origin in (list, tuple, set, frozenset)


def multi_dict(model: type[BaseModel], data: FormData | QueryParams) -> dict[str, Any]:
    """A form or query string as the model expects it: repeated keys for its list fields."""
    out: dict[str, Any] = {}
    for key in data.keys():
        field = model.model_fields.get(key)
        out[key] = list(data.getlist(key)) if field is not None and _is_list(field.annotation) else data.get(key)
    return out


async def json_body(request: Request, model: type[M]) -> M:
    """The JSON object in the body, checked strictly (an empty body is `{}`)."""
    return _validate(model, await request.body() or b"{}", json=True)


async def form_body(request: Request, model: type[M]) -> tuple[M, FormData]:
    """The submitted form as a model, and the raw form (to show it again on an error)."""
    form = await request.form()
    return _validate(model, multi_dict(model, form)), form


def parse(model: type[M], data: FormData | QueryParams) -> M:
    """A form or query string already read, as the model."""
    return _validate(model, multi_dict(model, data))


def query(request: Request, model: type[M]) -> M:
    return _validate(model, multi_dict(model, request.query_params))


def one(annotation: Any, value: Any, name: str) -> Any:
    """One value checked against a type, e.g. one(OptionalId, raw, "responsible")."""
    try:
        return pydantic.TypeAdapter(annotation).validate_python(value)
    except pydantic.ValidationError as e:
        raise ValidationError({name: next(iter(field_errors(e).values()))}) from None


def path_text(request: Request, name: str, max_length: int) -> str:
    """A text path parameter: bounded, without NUL bytes."""
    value = request.path_params[name]
    if "\x00" in value:
        raise ValidationError({name: gettext(NUL_MESSAGE)})
    if len(value) > max_length:
        raise ValidationError({name: _("is longer than %(max_length)s characters") % {"max_length": max_length}})
    return value


# Field names in words, for pages (JSON keeps the names); translated where shown (label).
LABELS = {
    "q": N_("Search"), "page": N_("Page"), "tpage": N_("Page"), "size": N_("Page size"), "tag": N_("Tag"),
    "notag": N_("Without tag"), "responsible": N_("Responsible"), "company": N_("Company"),
    "company_id": N_("Company"), "company_ids": N_("Company"), "last_name": N_("Last name"),
    "first_name": N_("First name"), "patronymic": N_("Patronymic"), "company_name": N_("Company name"),
    "remark": N_("Remark"), "comment": N_("Comment"), "status": N_("Status"),
    "responsible_user_id": N_("Responsible manager"), "queue_id": N_("Queue"), "phones": N_("Phones"),
    "emails": N_("E-mails"), "address": N_("Address"), "addresses": N_("Address"), "contacts": N_("Contacts"),
    "kind": N_("Kind"), "value": N_("Value"), "note": N_("Note"), "body": N_("Text"), "full_name": N_("Full name"),
    "login": N_("Login"), "password": N_("Password"), "role": N_("Role"), "extension": N_("Extension"),
    "email": N_("E-mail"), "title": N_("Title"), "type_id": N_("Type"), "counterparty_id": N_("Client or company"),
    "deadline_date": N_("Deadline"), "deadline_time": N_("Deadline time"), "amount": N_("Amount"),
    "outcome": N_("Outcome"), "participant_ids": N_("Participants"), "name": N_("Name"),
    "description": N_("Description"), "allowed_roles": N_("Roles"), "from": N_("From"), "to": N_("To"),
    "dial": N_("Dial string"), "mobile": N_("Mobile"), "follow_me_seconds": N_("Desk rings before the mobile"),
    "pattern": N_("Pattern"), "strip": N_("Strip"), "prepend": N_("Prepend"), "trunk": N_("Trunk"),
    "position": N_("Order"),
    "group": N_("Group by"), "ring_seconds": N_("Ring time"), "max_wait_seconds": N_("Longest wait"),
    "moh_class": N_("Music class"), "member_ids": N_("Members"), "manager_ring_seconds": N_("Manager ring time"),
    "section_clients": N_("Clients section"), "section_companies": N_("Companies section"),
    "excluded": N_("Not recorded"), "query": N_("Filter"), "section": N_("List"), "next": N_("Page after login"),
    "language": N_("Language"), "timezone": N_("Time zone"),
    "day_start_hour": N_("Working day starts"), "dial_prefix": N_("Dial prefix"), "call_script": N_("Call script"),
}


def label(field: str) -> str:
    """"contacts.1.value" -> "Contacts 2 value"; "last_name" -> "Last name" (in the language in force)."""
    words = []
    for i, part in enumerate(field.split(".")):
        if part.isascii() and part.isdigit():
            words.append(str(int(part) + 1))
            continue
        known = LABELS.get(part)
        word = gettext(known) if known else part.replace("_", " ").capitalize()
        words.append(word if i == 0 else word.lower())
    return " ".join(words)


def describe(errors: dict[str, str]) -> list[str]:
    """Each error as a line for people: "Last name: is longer than 200 characters"."""
    return [f"{label(k)}: {v}" for k, v in errors.items()]
