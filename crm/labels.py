"""Stored codes in words, per language: a call's status "missed" reads "пропущен" (issue 14).

The database keeps the codes (stable for the API, exports read the same words); pages and
Excel show `label(KIND, code)`, translated in the language in force (crm/i18n.py).
Each kind is one dict of code -> English text marked with N_; an unknown code shows as
itself, so a new status never breaks a page.
"""

from __future__ import annotations

from crm.i18n import N_, gettext

CALL_STATUS = {
    "ringing": N_("ringing"), "answered": N_("answered"), "missed": N_("missed"),
    "busy": N_("busy"), "failed": N_("failed"),
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
# The call statistics' types: a direction, or "missed" (an incoming call nobody answered).
CALL_TYPE = {**CALL_DIRECTION, "missed": N_("missed")}

KINDS: dict[str, dict[str, str]] = {
    "call_status": CALL_STATUS, "call_direction": CALL_DIRECTION, "role": ROLE, "task_status": TASK_STATUS,
    "counterparty_kind": COUNTERPARTY_KIND,
    "counterparty_status": COUNTERPARTY_STATUS, "deal_outcome": DEAL_OUTCOME, "call_type": CALL_TYPE,
}


def label(kind: str, code: str | None) -> str:
    """The code's words in the language in force; the code itself when it has none."""
    if code is None:
        return ""
    text = KINDS[kind].get(code)
    return gettext(text) if text is not None else str(code)


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, words) for a form's select, in the dict's order."""
    return [(code, gettext(text)) for code, text in KINDS[kind].items()]


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
}
# The gender of a section's word for one card (crm/sections.py), which Russian words agree with.
GRAMMATICAL_GENDER = {"m": N_("masculine"), "f": N_("feminine"), "n": N_("neuter")}
KINDS.update({
    "contact_kind": CONTACT_KIND, "counterparty_sort": COUNTERPARTY_SORT, "timeline_kind": TIMELINE_KIND,
    "counterparty_action": COUNTERPARTY_ACTION, "grammatical_gender": GRAMMATICAL_GENDER,
})
