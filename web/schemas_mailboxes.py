"""What the admin page for mailboxes accepts (issue 23): types and outer sizes only; crm/mail/inbound/admin.py
keeps the rules."""

from __future__ import annotations

from typing import Annotated

from web import limits as L
from web.schemas import Name, Short
from web.validation import Checkbox, Schema, Secret, Text

Address = Annotated[str, Text(320)]


class MailboxForm(Schema):
    name: Name = ""
    address: Address = ""
    imap_host: Annotated[str, Text(255)] = ""
    imap_port: Short = ""
    imap_security: Short = ""
    imap_user: Address = ""
    imap_password: Annotated[str, Secret(L.PASSWORD)] = ""
    folders: Annotated[str, Text(4_000)] = ""
    enabled: Checkbox = False


class MailboxEnabledForm(Schema):
    enabled: Checkbox = False
