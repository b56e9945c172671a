"""What the SMS list, its attach forms and the SMS gateways' admin page accept (issue 21): pydantic
models, split from web/schemas.py by domain. Types and outer sizes only: crm/sms/ keeps the rules
(crm/sms/gateway_config.py checks a gateway's settings)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web import limits as L
from web.schemas import Name, PageQuery, Search, Short, Shorts, TagFilterQuery
from web.validation import Checkbox, Id, Ids, OptionalDate, OptionalId, Schema, Secret, Text

Phone = Annotated[str, Text(L.PHONE)]


class SmsListQuery(PageQuery, TagFilterQuery):
    """The SMS list's filters (web/views/sms_list.py): several of each list."""
    start: OptionalDate = Field(None, alias="from")
    end: OptionalDate = Field(None, alias="to")
    direction: Shorts = ()
    status: Shorts = ()
    author: Ids = ()
    own: Annotated[tuple[Phone, ...], Field(max_length=L.LIST_ITEMS)] = ()
    gateway: Ids = ()
    counterparty: OptionalId = None
    number: Phone = ""
    unattached: Checkbox = False
    q: Search = ""


class SmsAttachIn(Schema):
    counterparty_id: Id


class SmsAttachNewForm(Schema):
    """A new client for a message from an unknown number: the name; the number is learned."""
    last_name: Name = ""
    first_name: Name = ""


class SmsGatewayForm(Schema):
    """A gateway: its name, kind, and every kind's settings (only its own kind's are read)."""
    name: Short = ""
    kind: Short = ""
    active: Checkbox = False
    host: Annotated[str, Text(L.NAME)] = ""
    port: Short = ""
    system_id: Short = ""
    password: Annotated[str, Secret(L.PASSWORD)] = ""
    system_type: Short = ""
    window: Short = ""
    rate: Short = ""
    enquire_link_seconds: Short = ""
    endpoint: Short = ""
    sender: Phone = ""
    url: Annotated[str, Text(L.NAME)] = ""
    token: Annotated[str, Secret(L.PASSWORD)] = ""
    webhook_secret: Annotated[str, Secret(L.PASSWORD)] = ""


class SmsNumberForm(Schema):
    number: Phone = ""
    gateway_id: OptionalId = None
    is_default: Checkbox = False


class SmsNumberDeleteForm(Schema):
    number: Phone = ""


class SmsGatewayActiveForm(Schema):
    active: Checkbox = False
