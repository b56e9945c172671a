"""Paths that machines call, not browsers: an SMS provider's webhook (issue 21), a shop's 1C exchange and
its order webhook (issue 24). They carry no session cookie and no CSRF token; each checks its caller
itself (the webhooks, an HMAC signature; the 1C exchange, Basic auth and its session cookie). The
session check (web/sessions.py) and the CSRF check (web/csrf.py) let exactly these paths through."""

from __future__ import annotations

import re

_MACHINE = re.compile(r"/sms/webhooks/[0-9]{1,18}"
                      r"|/shop-orders/(?:1c/[A-Za-z0-9_-]{1,64}/exchange|webhook/[A-Za-z0-9_-]{1,64})")


def is_machine_path(path: str) -> bool:
    return _MACHINE.fullmatch(path) is not None
