"""What the e-mail pages accept (issue 23): a reply or new e-mail, filing an unfiled one, the pages' queries."""

from __future__ import annotations

from typing import Annotated

from web import limits as L
from web.validation import Checkbox, Id, OptionalId, PageNumber, Schema, Text

# More than crm/mail/replies.py lets through: a longer text is refused with its length, not cut.
MAIL_TEXT = 250_000


class MailCardQuery(Schema):
    mpage: PageNumber = None


class MailMessageQuery(Schema):
    remote: Checkbox = False  # show the remote images too


class MailComposeQuery(Schema):
    thread: OptionalId = None


class MailSendForm(Schema):
    thread: OptionalId = None
    to: Annotated[str, Text(L.CONTACT_VALUE)] = ""
    subject: Annotated[str, Text(1000)] = ""
    body: Annotated[str, Text(MAIL_TEXT)] = ""


class MailFileForm(Schema):
    counterparty_id: Id


class MailFileNewForm(Schema):
    name: Annotated[str, Text(200)] = ""
