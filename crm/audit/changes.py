"""An audit row's changes as lines to show: field (in words), old, new. Pure.

Rows written since migration 0030 are `canonical` ({field: [old, new]}); older rows are read as
they were written: a pair on an update-like action is old → new, anything else a plain value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crm.i18n import N_, gettext
from crm.labels import KINDS, label
from crm.outbound.model import MODE_NAMES, STATUS_NAMES

# Actions older code wrote {field: [old, new]} for; on other actions a two-item list was a value.
_LEGACY_PAIRS = ("update", "comment", "attach", "take", "locale", "phone", "follow_me")

AUDIT_ENTITY = {
    "counterparty": N_("counterparty"), "task": N_("task"), "note": N_("note"), "tag": N_("tag"),
    "user": N_("user"), "settings": N_("settings"), "queue": N_("queue"), "line": N_("line"),
    "ivr_menu": N_("IVR menu"), "greeting": N_("greeting"), "dial_rule": N_("dial rule"),
    "call": N_("call"), "export": N_("export"), "task_type": N_("task type"), "import": N_("import"),
    "call_rule": N_("call rule"), "ip_allow_entry": N_("IP allow-list entry"), "login_lock": N_("login lock"),
    "pause_reason": N_("pause reason"),  # issue 18
    "counterparty_status": N_("counterparty status"),  # issue 20
    "sms": N_("SMS"), "sms_gateway": N_("SMS gateway"), "sms_number": N_("SMS sending number"),  # issue 21
    "sms_campaign": N_("SMS campaign"),  # issue 21
    "dial_campaign": N_("dial campaign"),  # issue 22
    "scheduled_call": N_("scheduled call"),  # issue 22
    "dnc_number": N_("do-not-call number"), "dial_attempt": N_("campaign call"),  # issue 22
    "customer": N_("customer"), "order": N_("order"),  # issue 22
    "chat": N_("web chat"), "chat_site": N_("chat site"),  # issue 23
    "shop_source": N_("shop source"), "shop_order": N_("shop order"),  # issue 24
    "mailbox": N_("mailbox"),  # issue 23
    "retention": N_("retention"),  # issue 25
}
AUDIT_ACTION = {
    "create": N_("created"), "update": N_("changed"), "delete": N_("deleted"), "save": N_("saved"),
    "add contact": N_("added a contact"), "change contact": N_("changed a contact"),
    "remove contact": N_("removed a contact"), "add address": N_("added an address"),
    "remove address": N_("removed an address"), "join company": N_("added to a company"),
    "leave company": N_("removed from a company"), "tag": N_("tagged"), "untag": N_("untagged"),
    "learn number": N_("learned a number from a call"), "add note": N_("added a note"),
    "change note": N_("changed a note"), "delete note": N_("deleted a note"),
    "login": N_("logged in"), "login_failed": N_("failed login"),
    "password_change": N_("changed the password"), "password_change_failed": N_("failed password change"),
    "password_reset": N_("password reset"), "locale": N_("language and time zone"),
    "phone": N_("phone settings"), "follow_me": N_("follow me"), "take": N_("took"),
    "attach": N_("attached to a counterparty"), "comment": N_("commented"), "transfer": N_("transferred"),
    "language": N_("language"), "export roles": N_("export roles"), "rename sections": N_("renamed sections"),
    "recording policy": N_("recording policy"), "manager ring": N_("manager's ring time"),
    "client list": N_("clients list"), "company list": N_("companies list"), "task list": N_("task list"),
    "tag list": N_("tags list"), "queue list": N_("queues list"), "user list": N_("users list"),
    "call list": N_("call list"), "audit list": N_("audit log"), "call-statistics report": N_("call statistics"),
    "deals-by-manager report": N_("deals by manager"), "calls-per-line report": N_("calls per line"),
    "start": N_("started"), "lift": N_("lifted"),
    # The card's SMS chat (issue 21, crm/sms/service.py).
    "send sms": N_("sent an SMS"), "do not text": N_("asked not to be texted"), "may text": N_("may be texted again"),
    "sms e-mail": N_("e-mail on incoming SMS"),
    # E-mail on the card (issue 23, crm/mail/).
    "send email": N_("wrote an e-mail"), "file email": N_("filed e-mail from an unknown sender"),
    "second_factor_enrolled": N_("set up the second factor"), "second_factor_passed": N_("passed the second factor"),
    "second_factor_failed": N_("failed the second factor"),
    "second_factor_disabled": N_("turned off the second factor"),
    "second_factor_reset": N_("reset the second factor"), "recovery_codes_regenerated": N_("made new recovery codes"),
    "second_factor_roles": N_("roles that must use a second factor"),
    "move": N_("moved"), "restore defaults": N_("restored the defaults"),
    "supervise": N_("joined the call as a supervisor"), "supervise end": N_("left the call as a supervisor"),
    "learn number from sms": N_("learned a number from an SMS"), "sms list": N_("SMS list"),  # issue 21
    "submit": N_("submitted for approval"), "approve": N_("approved"), "return": N_("returned for changes"),
    "pause": N_("paused"), "resume": N_("resumed"), "cancel": N_("cancelled"), "finish": N_("finished"),
    "sms campaign report": N_("SMS campaign report"),  # issue 21: campaigns
    "load numbers": N_("loaded numbers"), "import": N_("imported"), "outcome": N_("recorded the outcome"),  # issue 22
    "call row": N_("called a row"), "order urls": N_("order URLs"),  # issue 22: orders
    "learn from shop order": N_("learned a contact from a shop order"), "shop order list": N_("shop orders list"),
    "call buyer": N_("called the buyer"),  # issue 24: shop orders
    "retention": N_("retention"), "retention run": N_("removed old recordings and calls"),  # issue 25
}
# Field names in words; a field without one is shown as stored.
AUDIT_FIELD = {
    "last_name": N_("Last name"), "first_name": N_("First name"), "patronymic": N_("Patronymic"),
    "company_name": N_("Company name"), "status": N_("Status"), "responsible_user_id": N_("Responsible"),
    "responsible": N_("Responsible"), "remark": N_("Remark"), "comment": N_("Comment"), "queue_id": N_("Queue"),
    "phone": N_("Phone"), "email": N_("E-mail"), "site": N_("Site"), "skype": N_("Skype"), "fax": N_("Fax"),
    "social": N_("Social network"), "messenger": N_("Messenger"), "note": N_("Note"), "value": N_("Value"),
    "kind": N_("Type"), "address": N_("Address"), "company_id": N_("Company"), "tag": N_("Tag"),
    "title": N_("Title"), "deadline_date": N_("Deadline"), "deadline_time": N_("Deadline time"),
    "amount": N_("Amount"), "outcome": N_("Outcome"), "type_id": N_("Type"), "counterparty_id": N_("Counterparty"),
    "participant_ids": N_("Participants"), "name": N_("Name"), "description": N_("Description"),
    "allowed_roles": N_("Roles"), "uses": N_("Used"), "full_name": N_("Full name"), "role": N_("Role"),
    "extension": N_("Extension"),
    "is_blocked": N_("Blocked"), "login": N_("Login"), "language": N_("Language"), "timezone": N_("Time zone"),
    "dial": N_("Dial string"), "mobile": N_("Mobile"), "follow_me_seconds": N_("Follow me, s"),
    "strategy": N_("Strategy"), "ring_seconds": N_("Ring, s"), "max_wait_seconds": N_("Maximum wait, s"),
    "moh_class": N_("Music on hold"), "offer": N_("Offer"), "members": N_("Members"), "mode": N_("Mode"),
    "excluded": N_("Not recorded"), "roles": N_("Roles"), "seconds": N_("Seconds"), "rows": N_("Rows"),
    "query": N_("Filter"), "reason": N_("Reason"), "sessions_ended": N_("Sessions ended"), "body": N_("Text"),
    "password": N_("Password"), "is_deal": N_("Deal"), "archived": N_("Archived"), "pattern": N_("Pattern"),
    "position": N_("Position"), "strip": N_("Strip"), "prepend": N_("Prepend"), "trunk": N_("Trunk"),
    "did": N_("Number"), "route": N_("Route"), "after_hours": N_("After hours"), "hours": N_("Hours"),
    "holidays": N_("Holidays"), "hours_enabled": N_("Working hours"), "greeting": N_("Greeting"),
    "prompt": N_("Prompt"), "keys": N_("Keys"), "timeout": N_("Timeout"), "replays": N_("Replays"),
    "skip_known": N_("Skip for known callers"), "skip_menu_for_known": N_("Skip the menu for known callers"),
    "file": N_("File"), "filename": N_("File"), "ip": N_("Address"), "task_id": N_("Task"),
    "manager_ring_seconds": N_("Manager's ring, s"), "network": N_("Network"), "user": N_("User"),
    "via": N_("Through"), "scope": N_("Locked by"), "key": N_("Login or address"), "failures": N_("Failures"),
    "method": N_("Method"), "purpose": N_("Purpose"), "must_change_password": N_("Must change the password"),
    "wrapup_seconds": N_("Wrap-up, s"),  # issue 18
    "parts": N_("Parts"), "sms_opt_out": N_("Do not text"), "sms_opt_out_reason": N_("Why not to text"),
    "sms_email_notify": N_("E-mail me incoming SMS"),  # issue 21
    "request": N_("Request"), "supervision": N_("Supervision"), "result": N_("Result"),
    # The call rules (crm/calls/rules.py).
    "action": N_("Action"), "effect": N_("Effect"), "took_part": N_("took part in the call"),
    "directions": N_("Types"), "finished": N_("the call has finished"), "line_ids": N_("Lines"),
    "queue_ids": N_("Queues"), "owner": N_("was the responsible manager when the call happened"),
    "card_deleted": N_("the counterparty's card is deleted"),
    # SMS (issue 21).
    "messages": N_("Messages"), "config": N_("Settings"), "active": N_("Active"), "number": N_("Number"),
    "gateway_id": N_("Gateway"), "is_default": N_("Default number"), "sms": N_("SMS"),
    "starts_at": N_("Start"), "window_from": N_("Window from"), "window_to": N_("Window to"),
    "max_parts": N_("Parts at most"), "own_number": N_("Sending number"), "source": N_("Recipients"),
    "recipients": N_("Recipients"),
    # Dial campaigns (issue 22, crm/outbound/campaigns.py).
    "dial_mode": N_("Dial mode"), "agents": N_("Agents"), "timezone_of_hours": N_("Whose clock"),
    "retry_rules": N_("Retry rules"), "drop_limit": N_("Drop limit (percent)"), "max_ratio": N_("Calls per free agent"),
    "amd": N_("Answering-machine detection"), "amd_settings": N_("Detection settings"),
    "machine_action": N_("An answering machine is"), "caller_id": N_("Number shown"), "order_id": N_("Order"),
    "due_at": N_("Time"),  # issue 22: scheduled calls
    "mail": N_("E-mail message"), "subject": N_("Subject"),  # issue 23
    # Retention (issue 25, crm/retention/).
    "recordings_months": N_("Keep recordings, months"), "recordings_action": N_("Older recordings"),
    "calls_months": N_("Keep call rows, months"), "calls_action": N_("Older call rows"),
    "recordings": N_("Recordings"), "calls": N_("Call rows"), "voicemails": N_("Voicemails"),
    "tasks_unlinked": N_("Tasks unlinked"), "dial_attempts_unlinked": N_("Campaign calls unlinked"),
    "recordings_before": N_("Recordings before"), "calls_before": N_("Call rows before"),
    "call_ids": N_("Call ids"), "archive_files": N_("Archive files"), "files_moved": N_("Files archived"),
    "files_removed": N_("Files removed"), "files_missing": N_("Files already missing"),
    "files_failed": N_("Files not removed"), "problems": N_("Problems"),
}
KINDS.update({"audit_entity": AUDIT_ENTITY, "audit_action": AUDIT_ACTION, "audit_field": AUDIT_FIELD,
              "dial_mode": MODE_NAMES, "dial_campaign_status": STATUS_NAMES})


# Stored codes shown in words: field -> the labels' kind (crm/labels.py); "status" by the entity.
_CODED = {"role": "role", "allowed_roles": "role", "roles": "role", "outcome": "deal_outcome",
          "strategy": "queue_strategy", "offer": "queue_offer", "mode": "recording_mode", "kind": "contact_kind",
          "timezone": "timezone", "supervision": "supervision_mode", "result": "supervision_status",
          "dial_mode": "dial_mode"}
_STATUS = {"counterparty": "counterparty_status", "task": "task_status", "dial_campaign": "dial_campaign_status"}


def _worded(entity: str, field: str, value: Any) -> Any:
    kind = _STATUS.get(entity) if field == "status" else _CODED.get(field)
    if kind is None or value is None:
        return value
    if isinstance(value, list):
        return [label(kind, v) if isinstance(v, str) else v for v in value]
    return label(kind, value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Change:
    field: str  # the stored name
    title: str  # in words
    old: Any
    new: Any
    pair: bool  # old → new; else `new` is a plain value


def _loads(changes: Any) -> Any:
    if isinstance(changes, (str, bytes)):
        try:
            return json.loads(changes)
        except ValueError:
            return changes
    return changes


def _title(field: str) -> str:
    text = AUDIT_FIELD.get(field)
    return gettext(text) if text else field


def changes_of(action: str, changes: Any, canonical: bool = True, entity: str = "") -> list[Change]:
    """The lines of one audit row, in the order they were written, codes in words."""
    data = _loads(changes)
    if not isinstance(data, dict):
        return [] if data in (None, "", [], {}) else [Change("", "", None, data, False)]
    out = []
    for field, value in data.items():
        is_pair = isinstance(value, list) and len(value) == 2
        if is_pair and (canonical or action in _LEGACY_PAIRS):
            out.append(Change(field, _title(field), _worded(entity, field, value[0]),
                              _worded(entity, field, value[1]), True))
        else:
            out.append(Change(field, _title(field), None, _worded(entity, field, value), False))
    return out


def value_text(value: Any) -> str:
    """A stored value as a reader sees it: yes/no, lists joined, nested mappings as key: value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    return str(value)


def action_text(action: str) -> str:
    return label("audit_action", action)


def entity_text(entity: str) -> str:
    return label("audit_entity", entity)
