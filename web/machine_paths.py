"""Paths that machines call, not browsers (issue 21): an SMS provider's webhook. They carry no session
cookie and no CSRF token; each checks its caller itself (the webhook, an HMAC signature). The session
check (web/sessions.py) and the CSRF check (web/csrf.py) let exactly these paths through."""

from __future__ import annotations

import re

_MACHINE = re.compile(r"/sms/webhooks/[0-9]{1,18}")


def is_machine_path(path: str) -> bool:
    return _MACHINE.fullmatch(path) is not None
