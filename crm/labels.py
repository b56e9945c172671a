"""Stored codes in words, per language: a call's status "missed" reads "пропущен" (issue 14).

The database keeps the codes (stable for the API, exports read the same words); pages and
Excel show `label(KIND, code)`, translated in the language in force (crm/i18n.py).
Each kind is one dict of code -> English text marked with N_ (or later.pgettext, where the
word needs a context); an unknown code shows as itself, so a new status never breaks a page.
"""

from __future__ import annotations

from collections.abc import Mapping

from crm.i18n import N_, gettext, pgettext

Text = str | tuple[str, str]  # an N_ text, or a later.pgettext one (context, text)


class _Later:
    """`later.pgettext("import", "done")`: a text with its context, marked like pgettext (so
    `make messages` extracts the context) but translated at use by label(): one English word
    that reads differently in Russian by what it describes ("done" task: выполнена, import: завершён)."""

    @staticmethod
    def pgettext(context: str, message: str) -> tuple[str, str]:
        return (context, message)


later = _Later()

CALL_STATUS: dict[str, Text] = {
    "ringing": N_("ringing"), "answered": N_("answered"), "missed": N_("missed"),
    "busy": N_("busy"), "failed": N_("failed"),
    # Nobody talked, but the caller asked to be called back or left a voicemail (issue 15).
    "callback": N_("callback requested"), "voicemail": later.pgettext("call status", "voicemail"),
}
CALL_DIRECTION = {"incoming": N_("incoming"), "outgoing": N_("outgoing"), "internal": N_("internal")}
ROLE = {"operator": N_("operator"), "manager": N_("manager"), "supervisor": N_("supervisor"), "admin": N_("admin")}
TASK_STATUS = {
    "new": N_("new"), "in_progress": N_("in progress"), "done": N_("done"), "cancelled": N_("cancelled"),
}
COUNTERPARTY_KIND = {"client": N_("client"), "company": N_("company")}

# Excel exports (issue 14, python side).
COUNTERPARTY_STATUS = {
    "active": N_("active"), "potential": N_("potential"), "inactive": N_("inactive"), "archived": N_("archived"),
}
DEAL_OUTCOME = {"won": N_("won"), "lost": N_("lost")}
# The call statistics' types: a direction, or "missed" (an incoming call nobody answered); a report's
# column of calls, plural in Russian ("входящие").
CALL_TYPE = {
    "incoming": later.pgettext("call type", "incoming"), "outgoing": later.pgettext("call type", "outgoing"),
    "internal": later.pgettext("call type", "internal"), "missed": later.pgettext("call type", "missed"),
}

KINDS: dict[str, Mapping[str, Text]] = {
    "call_status": CALL_STATUS, "call_direction": CALL_DIRECTION, "role": ROLE, "task_status": TASK_STATUS,
    "counterparty_kind": COUNTERPARTY_KIND,
    "counterparty_status": COUNTERPARTY_STATUS, "deal_outcome": DEAL_OUTCOME, "call_type": CALL_TYPE,
}

# ---- tasks, imports, reports, users, queues, settings (issue 14, admin pages) ----
IMPORT_STATUS = {
    "checking": later.pgettext("import", "checking"), "applying": later.pgettext("import", "importing"),
    "done": later.pgettext("import", "done"), "refused": later.pgettext("import", "refused"),
    "failed": later.pgettext("import", "failed"),
}
QUEUE_STRATEGY = {"ringall": N_("ring all"), "roundrobin": N_("round robin")}
# What a queue offers a caller when its longest wait passes (issue 15).
QUEUE_OFFER = {"callback": N_("press 1 to be called back"), "voicemail": N_("voicemail"),
               "both": N_("press 1 to be called back, or voicemail")}
RECORDING_MODE = {
    "all": N_("record all calls"), "all_but_internal": N_("record all but internal calls"),
    "all_but_users": N_("record all but calls with the users chosen below"), "none": N_("record nothing"),
}
# Call statistics: the period a bar covers, how calls are split, what is counted.
REPORT_GROUP = {"hour": N_("by hour"), "day": N_("by day"), "week": N_("by week"), "month": N_("by month")}
REPORT_PERIOD = {"hour": N_("Hour"), "day": N_("Day"), "week": N_("Week"), "month": N_("Month")}
REPORT_SPLIT = {"type": N_("per call type"), "operator": N_("per operator")}
REPORT_METRIC = {"calls": N_("number of calls"), "seconds": N_("talk time"), "wait": N_("wait time")}
# The time zones a user may choose (Russia's eleven, then the neighbours'), west to east.
TIMEZONE = {
    "Europe/Kaliningrad": N_("Kaliningrad"), "Europe/Moscow": N_("Moscow"), "Europe/Samara": N_("Samara"),
    "Asia/Yekaterinburg": N_("Yekaterinburg"), "Asia/Omsk": N_("Omsk"), "Asia/Krasnoyarsk": N_("Krasnoyarsk"),
    "Asia/Irkutsk": N_("Irkutsk"), "Asia/Yakutsk": N_("Yakutsk"), "Asia/Vladivostok": N_("Vladivostok"),
    "Asia/Magadan": N_("Magadan"), "Asia/Kamchatka": N_("Kamchatka"),
    "UTC": N_("Coordinated Universal Time"), "Europe/London": N_("London"), "Europe/Berlin": N_("Berlin"),
    "Europe/Kyiv": N_("Kyiv"),
    "Europe/Minsk": N_("Minsk"), "Asia/Tbilisi": N_("Tbilisi"), "Asia/Yerevan": N_("Yerevan"),
    "Asia/Baku": N_("Baku"), "Asia/Dubai": N_("Dubai"), "Asia/Almaty": N_("Almaty"),
    "Asia/Tashkent": N_("Tashkent"), "America/New_York": N_("New York"),
}

# Agent presence (issue 18, crm/agents/): the built-in pause reasons and an agent's status.
PAUSE_REASON = {"lunch": N_("lunch"), "training": N_("training"), "after_call_work": N_("after-call work")}
AGENT_STATUS = {"available": N_("available"), "paused": N_("paused"), "wrapup": N_("wrap-up"),
                "logged_out": N_("logged out")}
# An agent on the wallboard (crm/wallboard/board.py STATES): its presence, or its call.
WALLBOARD_STATE = {**AGENT_STATUS, "ringing": N_("ringing"), "talking": N_("talking")}
# A PBX node (issue 26, crm/nodes/state.py) and why it is not up.
NODE_STATE = {"up": later.pgettext("pbx node", "up"), "down": later.pgettext("pbx node", "down"),
              "silent": later.pgettext("pbx node", "silent")}
NODE_REASON = {"asterisk_lost": N_("its Asterisk does not answer"),
               "app_silent": N_("its app is not running or cannot reach the database")}

KINDS.update({
    "pause_reason": PAUSE_REASON, "agent_status": AGENT_STATUS, "wallboard_state": WALLBOARD_STATE,
    "import_status": IMPORT_STATUS, "queue_strategy": QUEUE_STRATEGY, "queue_offer": QUEUE_OFFER,
    "recording_mode": RECORDING_MODE,
    "report_group": REPORT_GROUP, "report_period": REPORT_PERIOD, "report_split": REPORT_SPLIT,
    "report_metric": REPORT_METRIC, "timezone": TIMEZONE, "node_state": NODE_STATE, "node_reason": NODE_REASON,
})


def _words(text: Text) -> str:
    return pgettext(*text) if isinstance(text, tuple) else gettext(text)


def label(kind: str, code: str | None) -> str:
    """The code's words in the language in force; the code itself when it has none."""
    if code is None:
        return ""
    text = KINDS[kind].get(code)
    return _words(text) if text is not None else str(code)


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, words) for a form's select, in the dict's order."""
    return [(code, _words(text)) for code, text in KINDS[kind].items()]


# ---- counterparty cards and lists (issue 14, part "cards") ----
CONTACT_KIND = {
    "phone": N_("Phone"), "email": N_("E-mail"), "site": N_("Website"), "skype": N_("Skype"), "fax": N_("Fax"),
    "social": N_("Social page"), "messenger": N_("Messenger"),
}
COUNTERPARTY_SORT = {  # the lists' orders (crm/counterparties/listing.py SORTS)
    "name": N_("sort by name"), "created": N_("sort by date created"), "status": N_("sort by status"),
    "responsible": N_("sort by responsible"), "id": N_("sort by number"),
}
TIMELINE_KIND = {
    "note": N_("Notes"), "call": N_("Calls"), "task": N_("Tasks and deals"), "sms": N_("SMS"), "email": N_("E-mails"),
}
COUNTERPARTY_ACTION = {  # a card's history (audit_log actions on counterparties)
    "create": N_("created"), "update": N_("changed"), "delete": N_("deleted"),
    "add contact": N_("added a contact"), "remove contact": N_("removed a contact"),
    "add address": N_("added an address"), "remove address": N_("removed an address"),
    "join company": N_("added to a company"), "leave company": N_("removed from a company"),
    "tag": N_("tagged"), "untag": N_("untagged"), "learn number": N_("learned a number from a call"),
    "add note": N_("added a note"), "change note": N_("changed a note"), "delete note": N_("deleted a note"),
    "send email": N_("wrote an e-mail"), "file email": N_("filed e-mail from an unknown sender"),  # issue 23
}
# The gender of a section's word for one card (crm/sections.py), which Russian words agree with.
GRAMMATICAL_GENDER = {"m": N_("masculine"), "f": N_("feminine"), "n": N_("neuter")}
KINDS.update({
    "contact_kind": CONTACT_KIND, "counterparty_sort": COUNTERPARTY_SORT, "timeline_kind": TIMELINE_KIND,
    "counterparty_action": COUNTERPARTY_ACTION, "grammatical_gender": GRAMMATICAL_GENDER,
})

# ---- lines and DIDs (issue 15) ----
LINE_ROUTE = {"crm": N_("CRM routing (responsible manager, client's queue)"), "queue": N_("a queue"),
              "user": N_("a user"), "voicemail": N_("voicemail")}
AFTER_HOURS_ROUTE = {"hangup": N_("the closed prompt, then hang up"), "queue": N_("a queue"), "user": N_("a user"),
                     "voicemail": N_("voicemail")}
KINDS.update({"line_route": LINE_ROUTE, "after_hours_route": AFTER_HOURS_ROUTE})
# Greetings and IVR menus (issue 15): a line's route may be a menu; a menu key's routes.
LINE_ROUTE["ivr"] = AFTER_HOURS_ROUTE["ivr"] = N_("an IVR menu")
MENU_ROUTE = {"crm": N_("CRM routing (responsible manager, client's queue)"), "queue": N_("a queue"),
              "user": N_("a user"), "ivr": N_("another menu"), "hangup": N_("goodbye, then hang up"),
              "voicemail": N_("voicemail")}
KINDS.update({"menu_route": MENU_ROUTE})
# Transfers (issue 15): how a call's leg began (call_legs.how).
CALL_LEG_HOW: dict[str, Text] = {
    "answered": later.pgettext("call leg", "answered"), "blind": N_("blind transfer from the phone"),
    "attended": N_("attended transfer from the phone"), "web": N_("transfer from the web")}
KINDS.update({"call_leg_how": CALL_LEG_HOW})
# Listen-in, whisper and barge (issue 18, crm/supervision/): the modes, what each does, a request's status.
SUPERVISION_MODE = {"listen": N_("Listen"), "whisper": N_("Whisper"), "barge": N_("Barge in")}
SUPERVISION_HINT = {
    "listen": N_("Your phone rings; you hear the call, nobody hears you"),
    "whisper": N_("Your phone rings; you hear the call, only the operator hears you"),
    "barge": N_("Your phone rings; you join the call, everyone hears you")}
SUPERVISION_STATUS = {"pending": N_("Request sent"), "ringing": N_("Your phone is ringing"),
                      "joined": N_("You are on the call"), "done": N_("Supervision ended"),
                      "failed": N_("Supervision failed")}
KINDS.update({"supervision_mode": SUPERVISION_MODE, "supervision_hint": SUPERVISION_HINT,
              "supervision_status": SUPERVISION_STATUS})

# SMS (issue 21, crm/sms/model.py): a message's direction and status.
SMS_DIRECTION = {"in": N_("incoming"), "out": N_("outgoing")}
SMS_STATUS = {"queued": N_("queued"), "submitting": N_("sending"), "submitted": N_("sent"),
              "delivered": N_("delivered"), "undelivered": N_("not delivered"), "expired": N_("expired"),
              "failed": N_("failed"), "received": N_("received")}
SMS_GATEWAY_KIND = {"smpp": N_("SMPP provider"), "sip": N_("GSM gateway (SIP MESSAGE)"), "http": N_("HTTP service")}
KINDS.update({"sms_direction": SMS_DIRECTION, "sms_status": SMS_STATUS, "sms_gateway_kind": SMS_GATEWAY_KIND})
# E-mail (issue 23, migration 0047): a message's status, in (filed/unfiled) and out (queued -> sent | failed).
MAIL_STATUS = {"filed": N_("filed"), "unfiled": N_("not filed"), "queued": N_("queued"), "sending": N_("sending"),
               "sent": N_("sent"), "failed": N_("failed")}
KINDS.update({"mail_status": MAIL_STATUS, "mail_direction": SMS_DIRECTION})

# The web chat (issue 23, crm/webchat): a conversation's status, the chat list's views, its timeline kind.
CHAT_STATUS = {"waiting": N_("waiting"), "active": N_("in progress"), "closed": N_("closed"),
               "offline": N_("left offline")}
CHAT_VIEW = {"waiting": N_("Waiting"), "active": N_("In progress"), "mine": N_("Mine"), "closed": N_("Closed")}
TIMELINE_KIND["chat"] = N_("Web chats")
KINDS.update({"chat_status": CHAT_STATUS, "chat_view": CHAT_VIEW})

# Shop orders (issue 24, crm/shop_orders/): where a shop's orders come from; the card's timeline shows them.
SHOP_SOURCE_KIND = {"commerceml": N_("CommerceML (1C exchange or an XML file)"),
                    "webhook": N_("Signed JSON webhook (WooCommerce)"),
                    "feed": N_("A list pulled from a URL (CSV, Excel, JSON)")}
KINDS.update({"shop_source_kind": SHOP_SOURCE_KIND})
TIMELINE_KIND["shop_order"] = N_("Shop orders")
COUNTERPARTY_ACTION["learn from shop order"] = N_("learned a contact from a shop order")


# The task types migration 0004 made, named in English in the database: shown in the reader's
# language while they keep that name. A type the admin renamed shows as the admin wrote it.
BUILTIN_TASK_TYPES = {
    "Task": N_("Task"), "Call back": N_("Call back"), "Meeting": N_("Meeting"),
    "Scheduled call": N_("Scheduled call"), "Deal": N_("Deal"),
}


def task_type(name: str | None) -> str:
    if name is None:
        return ""
    text = BUILTIN_TASK_TYPES.get(name)
    return gettext(text) if text is not None else name
