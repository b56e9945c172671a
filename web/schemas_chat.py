"""What the web chat's pages accept (issue 23): an operator's message, the card a chat is attached to, the
conversations list's view, and a chat site's settings (the admin's)."""

from __future__ import annotations

from typing import Annotated

from web import limits as L
from web.validation import Checkbox, OptionalId, PageNumber, Schema, Text

# More than a message may hold (crm/webchat/rules.py MAX_MESSAGE_CHARS): a longer one is refused with the
# limit in words, not cut.
CHAT_TEXT = 5_000


class ChatSendForm(Schema):
    body: Annotated[str, Text(CHAT_TEXT)] = ""


class ChatAttachForm(Schema):
    counterparty_id: OptionalId = None


class ChatListQuery(Schema):
    view: Annotated[str, Text(L.SHORT)] = ""
    page: PageNumber = None


class ChatSiteForm(Schema):
    name: Annotated[str, Text(L.NAME)] = ""
    allowed_origins: Annotated[str, Text(L.DESCRIPTION * 10)] = ""
    anonymize_ip: Checkbox = False
    enabled: Checkbox = False
    offline_user_id: OptionalId = None
    offline_queue_id: OptionalId = None
