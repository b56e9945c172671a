"""A message as read from IMAP -> what the CRM keeps of it (pure: no I/O).

stdlib `email` with policy.default, made robust to malformed MIME: each header and each part is read on
its own, a part or header that cannot be read is left out or kept raw, and what went wrong is said in
`problems` (mail_messages.problem). Nothing here raises on bad input."""

from __future__ import annotations

import datetime as dt
import email
import email.message
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.utils import parsedate_to_datetime

from crm.mail.addresses import address_list

MAX_MESSAGE_ID = 1000
MAX_REFERENCES = 50
MAX_SUBJECT = 1000
DEFAULT_MAX_ATTACHMENT = 20 * 1024 * 1024
MSGID = re.compile(r"<([^<>\s]{1,998})>")


@dataclass
class Attachment:
    filename: str
    content_type: str
    content_id: str
    size_bytes: int
    sha256: str
    content: bytes | None  # None: over the size limit, listed only


@dataclass
class Parsed:
    message_id: str
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    from_name: str = ""
    from_address: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    sent_at: dt.datetime | None = None
    body_text: str = ""
    body_html: str = ""
    size_bytes: int = 0
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def problem(self) -> str:
        return "; ".join(dict.fromkeys(self.problems))


def clean_text(value: str) -> str:
    """PostgreSQL's text takes no NUL character; nothing else is changed."""
    return value.replace("\x00", "")


def digest_message_id(raw: bytes) -> str:
    """The Message-ID of a message that has none: the same bytes always give the same one."""
    return f"{hashlib.sha256(raw).hexdigest()[:40]}@digest.pbxcrm"


def message_ids(value: str) -> list[str]:
    """'<a@b> <c@d>' -> ['a@b', 'c@d']; a bare id without <> is taken whole."""
    found = MSGID.findall(value or "")
    if not found and value and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return [clean_text(m) for m in found if m]


def _headers(msg: email.message.Message, name: str, problems: list[str]) -> list[str]:
    """A header's values as text (encoded words decoded); its raw text when it cannot be decoded."""
    try:
        return [str(v) for v in msg.get_all(name) or ()]
    except Exception as e:  # any malformed header: its raw form is the best left
        problems.append(f"{name} header not readable ({type(e).__name__}); kept as sent")
        return [str(v) for k, v in msg._headers if k.lower() == name.lower()]  # type: ignore[attr-defined]


def _first(msg: email.message.Message, name: str, problems: list[str]) -> str:
    values = _headers(msg, name, problems)
    return clean_text(values[0]).strip() if values else ""


def _date(value: str, problems: list[str]) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        problems.append("Date header not readable")
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _text(part: email.message.Message, problems: list[str]) -> str:
    try:
        return clean_text(part.get_content())  # type: ignore[attr-defined]
    except Exception as e:  # unknown charset, broken transfer encoding
        problems.append(f"a {part.get_content_type()} part not decoded as declared ({type(e).__name__}); "
                        "read as UTF-8 with replacements")
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return clean_text(payload.decode("utf-8", errors="replace"))
        return clean_text(str(part.get_payload()))


def _filename(part: email.message.Message, problems: list[str]) -> str:
    try:
        return clean_text(part.get_filename() or "")[:255]
    except Exception:
        problems.append("an attachment's name not readable")
        return ""


def _attachment(part: email.message.Message, limit: int, problems: list[str]) -> Attachment:
    filename = _filename(part, problems)
    try:
        content = part.get_payload(decode=True)
    except Exception as e:
        problems.append(f"attachment {filename!r} not decoded ({type(e).__name__})")
        content = None
    if not isinstance(content, bytes):
        content = str(part.get_payload()).encode("utf-8", errors="replace")
    content_id = "".join(message_ids(str(part.get("Content-ID", "")))[:1])[:1000]
    kept: bytes | None = content
    if len(content) > limit:
        problems.append(f"attachment {filename or '(no name)'!r} is {len(content)} bytes, over the limit of "
                        f"{limit}: listed, not kept")
        kept = None
    return Attachment(filename, part.get_content_type()[:255], content_id, len(content),
                      hashlib.sha256(content).hexdigest(), kept)


def _parts(msg: email.message.Message, parsed: Parsed, limit: int) -> None:
    problems = parsed.problems
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            disposition = part.get_content_disposition()
        except Exception:
            disposition = None
        content_type = part.get_content_type()
        if part.get_content_maintype() == "multipart":  # its boundary never came: its raw text is the body
            problems.append("a multipart body without its boundary: kept as text")
            raw_payload = part.get_payload(decode=True)
            text = raw_payload.decode("utf-8", errors="replace") if isinstance(raw_payload, bytes) \
                else str(part.get_payload())
            parsed.body_text = (parsed.body_text + "\n\n" + clean_text(text)).strip()
            continue
        is_file = disposition == "attachment" or (disposition == "inline" and bool(part.get_filename()))
        if not is_file and content_type == "text/plain" and not parsed.body_text:
            parsed.body_text = _text(part, problems)
        elif not is_file and content_type == "text/html" and not parsed.body_html:
            parsed.body_html = _text(part, problems)
        elif not is_file and content_type in ("text/plain", "text/html"):
            # A second body (a forwarded one, say): added to the first, nothing lost.
            text = _text(part, problems)
            if content_type == "text/plain":
                parsed.body_text += "\n\n" + text
            else:
                parsed.body_html += "\n" + text
        else:
            parsed.attachments.append(_attachment(part, limit, problems))


def _defects(msg: email.message.Message) -> list[str]:
    names = []
    for part in msg.walk():
        names += [type(d).__name__ for d in getattr(part, "defects", ())]
    return list(dict.fromkeys(names))


def parse(raw: bytes, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT) -> Parsed:
    problems: list[str] = []
    msg = email.message_from_bytes(raw, policy=policy.default)
    message_id = "".join(message_ids(_first(msg, "Message-ID", problems))[:1])
    if not message_id or len(message_id) > MAX_MESSAGE_ID:
        message_id = digest_message_id(raw)
        problems.append("no Message-ID: one made from the message's digest")
    parsed = Parsed(message_id=message_id, size_bytes=len(raw), problems=problems)
    parsed.in_reply_to = "".join(message_ids(_first(msg, "In-Reply-To", problems))[:1])[:MAX_MESSAGE_ID]
    parsed.references = [r for r in message_ids(" ".join(_headers(msg, "References", problems)))
                         if len(r) <= MAX_MESSAGE_ID][-MAX_REFERENCES:]
    senders = address_list(_headers(msg, "From", problems))
    if senders:
        parsed.from_name, parsed.from_address = clean_text(senders[0][0])[:500], senders[0][1]
    else:
        problems.append("no sender address (From)")
    parsed.to = [a for _, a in address_list(_headers(msg, "To", problems))]
    parsed.cc = [a for _, a in address_list(_headers(msg, "Cc", problems))]
    parsed.subject = " ".join(_first(msg, "Subject", problems).split())[:MAX_SUBJECT]
    parsed.sent_at = _date(_first(msg, "Date", problems), problems)
    try:
        _parts(msg, parsed, max_attachment_bytes)
    except Exception as e:  # a structure the library gives up on: the raw text is kept as the body
        problems.append(f"MIME structure not readable ({type(e).__name__}); the raw message kept as text")
        parsed.body_text = clean_text(raw.decode("utf-8", errors="replace"))
    defects = _defects(msg)
    if defects:
        problems.append("malformed MIME: " + ", ".join(defects[:5]))
    return parsed
