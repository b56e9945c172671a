"""A browser phone's SIP name and password: `webrtc-<extension>`, its password derived from one secret.

The CRM gives the logged-in user's page the password of that user's browser endpoint; Asterisk
knows it from the endpoints written by scripts/webrtc-endpoints.py with the same secret
(PBXCRM_WEBRTC_SECRET), so no per-user password is stored anywhere. Standard library only:
scripts/webrtc-endpoints.py imports this file without the virtualenv. Pure.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PREFIX = "webrtc-"
_EXTENSION = re.compile(r"^[0-9]{2,6}$")


def endpoint_name(extension: str) -> str:
    """The PJSIP endpoint (and AOR, and auth user) of this extension's browser phone: webrtc-101."""
    if not _EXTENSION.match(extension):
        raise ValueError(f"not an extension: {extension!r}")
    return PREFIX + extension


def extension_of(endpoint: str) -> str | None:
    """101 for webrtc-101; None for any other endpoint name."""
    if endpoint.startswith(PREFIX) and _EXTENSION.match(endpoint[len(PREFIX):]):
        return endpoint[len(PREFIX):]
    return None


def password(secret: str, extension: str) -> str:
    """The SIP password of the extension's browser endpoint: 32 hex digits of HMAC-SHA256."""
    if not secret:
        raise ValueError("no secret: PBXCRM_WEBRTC_SECRET is empty")
    return hmac.new(secret.encode(), endpoint_name(extension).encode(), hashlib.sha256).hexdigest()[:32]


def pjsip_sections(secret: str, extensions: list[str], *, template: str = "webrtc-phone") -> str:
    """pjsip.conf sections of the browser endpoints of these extensions (endpoint, aor, auth each),
    on the template `template` (asterisk-conf/pjsip.conf defines it)."""
    out = [f"; browser phones (issue 19), written by scripts/webrtc-endpoints.py: {len(extensions)} extension(s)"]
    for extension in extensions:
        name = endpoint_name(extension)
        out += [
            f"[{name}]({template})", f"aors = {name}", f"auth = {name}", f'callerid = "{extension}" <{extension}>',
            f"[{name}]", "type = aor", "max_contacts = 1", "remove_existing = yes",
            f"[{name}]", "type = auth", "auth_type = userpass", f"username = {name}",
            f"password = {password(secret, extension)}", "",
        ]
    return "\n".join(out) + "\n"
