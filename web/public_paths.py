"""The web chat's public side (issue 23, I3): the widget's script a site loads with one <script> tag, and
the visitor's websocket. No login, no CSRF cookie, no allow-list, no customer scope: the visitor is nobody's
user. Each checks its caller itself (web/views/chat_public.py: the site's key, the page's Origin against the
site's allowed origins, rate and size limits). The session, CSRF, allow-list and customer middlewares, and
the security headers (a script loaded from another origin), let exactly these paths through."""

from __future__ import annotations

WIDGET_PATH = "/chat/widget.js"
SOCKET_PATH = "/chat/ws"
PUBLIC_CHAT_PATHS = frozenset({WIDGET_PATH, SOCKET_PATH})


def is_public_chat_path(path: str) -> bool:
    return path in PUBLIC_CHAT_PATHS
