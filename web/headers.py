"""Security headers on every response: a strict Content-Security-Policy and friends.

Scripts come only from our own /static/ files: no inline <script>, no on...=
handlers, so a name that slips into an attribute or a page is inert text.
Styles need nothing inline either (the templates have no style="" and no
<style>; scripts change styles through the CSSOM, which the CSP allows), so
default-src 'self' covers them. Everything but /static/ is behind the login or
is the login page itself: never stored, so after logging out Back shows no card.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.public_paths import WIDGET_PATH

CSP = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'self'; form-action 'self'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    # The browser phone's shell (web/views/phone.py) shows our own pages in a frame; nobody else may.
    "x-frame-options": "SAMEORIGIN",
}
CACHEABLE_PREFIX = "/static/"


# A response whose own policy starts so keeps it: no script at all, whatever the page's.
SANDBOX = "sandbox"
# The browser phone's shell (issue 19) may also open Asterisk's secure websocket (PBXCRM_WEBRTC_URL).
PHONE_SHELL_PATH = "/phone"


def socket_origin(url: str) -> str:
    """wss://pbx.example.com:8089 of wss://pbx.example.com:8089/ws: what connect-src names."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""


def apply(headers: MutableHeaders, path: str, phone_socket: str = "") -> None:
    own = headers.get("content-security-policy", "")
    for name, value in HEADERS.items():
        headers[name] = value
    if phone_socket and path == PHONE_SHELL_PATH:
        headers["content-security-policy"] = f"{CSP}; connect-src 'self' {phone_socket}"
    if own.startswith(SANDBOX):
        # A view's own, stricter policy (web/views/mail.py: an e-mail's body, its attachments) stays.
        headers["content-security-policy"] = own
    if path == WIDGET_PATH:
        # The web chat's widget (issue 23): a script every site carrying the chat loads from here, across
        # origins, and may cache a while. The CRM's own pages keep the headers above.
        headers["cross-origin-resource-policy"] = "cross-origin"
        headers["cache-control"] = "public, max-age=300"
    elif not path.startswith(CACHEABLE_PREFIX):
        headers["cache-control"] = "no-store"


def apply_to(response: Response, path: str) -> Response:
    """For responses made outside the middleware stack (the 500 page)."""
    apply(response.headers, path)
    return response


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, phone_socket_url: str = ""):
        self.app = app
        self.phone_socket = socket_origin(phone_socket_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply(MutableHeaders(scope=message), path, self.phone_socket)
            await send(message)

        await self.app(scope, receive, send_with_headers)
