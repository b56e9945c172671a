"""Where a user's phone is dialled: a dial string per user, PJSIP/<extension> unless said otherwise.

`SIP/101`, `IAX2/101`, `PJSIP/101`, `PJSIP/79161234567@trunk` or `Local/101@phones`: a
technology of a short list and names of a safe charset, nothing else. The string reaches
ARI's originate and, through a global, the dialplan's Dial() (dialplan/pbxcrm.conf), where
`&` would add a channel and `,` options: neither can be written here, nor `$`, `{`, `(`.
Pure; migration 0021 checks the same in the database.
"""

from __future__ import annotations

import re

from crm.errors import ValidationError
from crm.i18n import _

DEFAULT_TECHNOLOGY = "PJSIP"
# As Asterisk spells them (it reads them case-insensitively; we store this spelling).
TECHNOLOGIES = ("PJSIP", "SIP", "IAX2", "Local")
_NAME = r"[A-Za-z0-9_.+-]{1,64}"
_DIAL = re.compile(rf"^(?P<tech>[A-Za-z0-9]+)/(?P<resource>{_NAME})(?:@(?P<at>{_NAME}))?(?P<no_optimise>/n)?$")


def default_dial(extension: str) -> str:
    return f"{DEFAULT_TECHNOLOGY}/{extension}"


# Which phones of a user ring (issue 19; users.phone_mode): the desk phone (its dial string), the
# browser phone of the CRM's page, or both at once.
PHONE_MODES = ("desk", "browser", "both")


def browser_dial(extension: str) -> str:
    """The browser phone of an extension: PJSIP/webrtc-101 (crm/webrtc/credentials.py names it)."""
    return f"{DEFAULT_TECHNOLOGY}/webrtc-{extension}"


# The SIP header the app puts on a click-to-call to a browser phone: its page answers it by itself.
AUTO_ANSWER_HEADER = "X-PBXCRM-Click-To-Call"
AUTO_ANSWER_HEADER_VARIABLE = f"PJSIP_HEADER(add,{AUTO_ANSWER_HEADER})"
# ... and the caller's channel on a call it rings for: the page's Transfer names the call by it.
CALL_HEADER = "X-PBXCRM-Call"
CALL_HEADER_VARIABLE = f"PJSIP_HEADER(add,{CALL_HEADER})"


# Desk phones answer by themselves when the INVITE says so (intercom): Call-Info's answer-after (Snom,
# Grandstream, Cisco SPA, Yealink) or Alert-Info's alert-autoanswer (Polycom, Yealink), when allowed on
# the phone. A campaign's agent is rung for a client already waiting on the line (issue 22).
DESK_AUTO_ANSWER_VARIABLES = {
    "PJSIP_HEADER(add,Call-Info)": "<sip:pbxcrm.invalid>;answer-after=0",
    "PJSIP_HEADER(add,Alert-Info)": "<http://pbxcrm.invalid/>;info=alert-autoanswer;delay=0",
}


def auto_answer_variables(dial: str, tag: str) -> dict[str, str]:
    """The channel variables that make the phone of `dial` (one phone) answer by itself."""
    return {AUTO_ANSWER_HEADER_VARIABLE: tag} if is_browser_dial(dial) else dict(DESK_AUTO_ANSWER_VARIABLES)


def is_browser_dial(dial: str) -> bool:
    return dial.startswith(f"{DEFAULT_TECHNOLOGY}/webrtc-")


def click_dial(dial: str) -> str:
    """The one phone click-to-call rings: the browser's when the user has one (the click came from the
    page), else the desk's."""
    parts = dials(dial)
    return next((p for p in parts if is_browser_dial(p)), parts[0] if parts else dial)


def phone_dial(extension: str, dial: str | None, mode: str) -> str:
    """Where a user's phone is rung for `mode`: the desk's dial string, the browser's, or both as
    one `&` list (the dialplan's Dial() takes it whole; the app rings each, split by `dials`)."""
    desk = dial or default_dial(extension)
    if mode == "browser":
        return browser_dial(extension)
    if mode == "both":
        return f"{desk}&{browser_dial(extension)}"
    return desk


def dials(dial: str) -> list[str]:
    """The phones of a dial string, each rung by its own leg: PJSIP/101&PJSIP/webrtc-101 -> both."""
    return [part for part in dial.split("&") if part]


def trunk_dial(number: str, trunk: str) -> str:
    """A number dialled out through a trunk endpoint: PJSIP/84951234567@trunk."""
    return f"{DEFAULT_TECHNOLOGY}/{number}@{trunk}"


def clean_dial(text: str | None, field: str = "dial") -> str | None:
    """A dial string as it is saved: None when blank (the default, PJSIP/<extension>), the
    technology spelled as in TECHNOLOGIES; ValidationError on `field` otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    m = _DIAL.match(text)
    technology = next((t for t in TECHNOLOGIES if m and t.lower() == m["tech"].lower()), None)
    if m is None or technology is None:
        raise ValidationError({field: _(
            "a dial string is a technology (%(technologies)s), a slash and a name of letters, digits and "
            ". _ + -, e.g. PJSIP/101, SIP/101 or Local/101@phones") % {"technologies": ", ".join(TECHNOLOGIES)}})
    if technology == "Local" and not m["at"]:
        raise ValidationError({field: _("a Local channel names its context: Local/101@phones")})
    if m["no_optimise"] and technology != "Local":
        raise ValidationError({field: _("only a Local channel takes the /n option")})
    return technology + text[len(m["tech"]):]


def parts_of(dial: str) -> tuple[str, str, str | None] | None:
    """(technology, resource, what follows @ or None) of a dial string: PJSIP/79161234567@trunk ->
    ("PJSIP", "79161234567", "trunk"); None when it is not one."""
    m = _DIAL.match(dial)
    return (m["tech"], m["resource"], m["at"]) if m else None


def devices(dial: str) -> list[str]:
    """The device names of each phone of a (possibly `&`) dial string that has one (see device_of)."""
    return [name for name in (device_name(part) for part in dials(dial)) if name]


def device_of(dial: str) -> tuple[str, str] | None:
    """(technology, resource) of the device whose state says whether this phone is free (the ARI
    endpoint, the DeviceStateChanged name), or None when it has none of its own: a Local channel,
    or a number dialled through another endpoint (PJSIP/79161234567@trunk: the trunk is busy with
    everyone's calls). Such a phone is taken as free; ringing it tells."""
    m = _DIAL.match(dial)
    if m is None or m["at"] or m["tech"].lower() == "local":
        return None
    return m["tech"], m["resource"]


def device_name(dial: str) -> str | None:
    """"PJSIP/101": the name Asterisk gives the phone's device state, or None (see device_of)."""
    device = device_of(dial)
    return f"{device[0]}/{device[1]}" if device else None
