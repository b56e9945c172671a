"""The web UI's application: routes, middleware and the pool's lifespan."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crm.db import create_pool, ping
from crm.settings import Settings
from pbxcrm.lifetime import die_with_parent
from web import pops
from web.access import AllowListMiddleware, PasswordChangeMiddleware
from web.api import counterparties as api_counterparties
from web.api import counterparty_find as api_counterparty_find
from web.api import users as api_users
from web.chat_hub import ChatHub
from web.client_address import ClientAddressMiddleware
from web.csrf import CSRFMiddleware
from web.customer_access import CustomerAccessMiddleware
from web.db import ConnectionMiddleware
from web.errors import EXCEPTION_HANDLERS
from web.headers import SecurityHeadersMiddleware
from web.locale import LocaleMiddleware
from web.mail_sender import MailSender
from web.mail_stream import MailHub
from web.notifier import Notifier
from web.order_reloads import OrderReloads
from web.pops import PopHub
from web.request_limits import RequestLimitsMiddleware
from web.retention_loop import RetentionLoop
from web.sessions import AuthMiddleware
from web.shop_pulls import ShopPulls
from web.sms_stream import SmsHub
from web.urls import path_for
from web.views import (
    admin,
    admin_export,
    agents,
    allowlist,
    audit,
    auth,
    call_page,
    call_rules,
    call_scripts,
    callers,
    calls,
    chat_public,
    chat_report,
    chat_sites,
    chats,
    counterparty_cards,
    counterparty_lists,
    customers,
    dial_campaigns,
    dial_dnc,
    dial_numbers,
    dial_preview,
    dial_rules,
    export,
    filters,
    greetings,
    imports,
    ivr,
    line_report,
    lines,
    locks,
    mail,
    mail_reports,
    mailboxes,
    nodes,
    notes,
    notifications,
    orders,
    phone,
    queue_report,
    queues,
    recordings,
    reports,
    scheduled_calls,
    second_factor,
    second_factor_settings,
    shop_machine,
    shop_orders,
    shop_sources,
    sms_campaigns,
    sms_chat,
    sms_gateways,
    sms_list,
    sms_webhooks,
    statuses,
    supervision,
    tags,
    tasks,
    transfers,
    wallboard,
)
from web.wallboard_stream import WallboardHub

STATIC_DIR = Path(__file__).with_name("static")


async def home(request: Request):
    return RedirectResponse(path_for(request, "counterparty_lists.clients"), status_code=302)


async def healthz(request: Request):
    try:
        # A connection of its own with a short timeout: the check must answer even when the pool is full.
        async with request.app.state.pool.acquire(timeout=2) as conn:
            await ping(conn)
    except Exception as e:  # any failure means "not healthy"; say which
        return JSONResponse({"status": "database unavailable", "error": type(e).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.pool = await create_pool(settings.database_url)
        app.state.background = set()  # import jobs and the like, kept referenced while they run
        app.state.pops = PopHub(settings.database_url)
        app.state.pops.start()
        app.state.wallboard = WallboardHub(settings.database_url, lambda: app.state.pool)
        app.state.wallboard.start()
        app.state.sms = SmsHub(settings.database_url, lambda: app.state.pool)  # the card chats' push
        app.state.sms.start()
        app.state.chat = ChatHub(settings.database_url)  # issue 23: the web chat's push, visitors' and operators'
        app.state.chat.start()
        app.state.chat_flood = chat_public.Flood()
        notifier = Notifier(settings)
        notifier.start()
        mail_sender = MailSender(settings)  # issue 23: e-mail written on cards, through SMTP
        mail_sender.start()
        app.state.mail = MailHub(settings.database_url)  # an outgoing e-mail's status, live on its page
        app.state.mail.start()
        order_reloads = OrderReloads(settings, lambda: app.state.pool)  # issue 22: orders' lists from URLs
        order_reloads.start()
        shop_pulls = ShopPulls(settings, lambda: app.state.pool)  # issue 24: shop orders pulled from URLs
        shop_pulls.start()
        retention = RetentionLoop(settings)  # issue 25: old recordings and call rows, hourly
        retention.start()
        try:
            yield
        finally:
            await retention.stop()
            await shop_pulls.stop()
            await order_reloads.stop()
            await notifier.stop()
            await mail_sender.stop()
            await app.state.mail.stop()
            await app.state.pops.stop()
            await app.state.wallboard.stop()
            await app.state.sms.stop()
            await app.state.chat.stop()
            await app.state.pool.close()

    routes = [
        Route("/", home, name="home"),
        Route("/healthz", healthz, name="healthz"),
        *auth.routes,
        *second_factor.routes,
        *second_factor_settings.routes,
        *calls.routes,
        *sms_list.routes,
        *sms_campaigns.routes,
        *dial_campaigns.routes,  # issue 22
        *scheduled_calls.routes,  # issue 22: scheduled calls
        *sms_gateways.routes,
        *mailboxes.routes,
        *sms_webhooks.routes,
        *dial_numbers.routes,  # issue 22: a campaign's numbers, the do-not-call list, preview dialling
        *dial_dnc.routes,
        *dial_preview.routes,
        *call_page.routes,
        *callers.routes,
        *transfers.routes,
        *supervision.routes,
        *phone.routes,
        *counterparty_lists.routes,
        *counterparty_cards.routes,
        *sms_chat.routes,
        *mail.routes,  # issue 23: e-mail on the card, the unfiled inbox, replies
        *mail_reports.routes,
        *notes.routes,
        *admin.routes,
        *allowlist.routes,
        *locks.routes,
        *audit.routes,
        *dial_rules.routes,
        *call_rules.routes,
        *queues.routes,
        *agents.routes,
        *lines.routes,
        *greetings.routes,
        *ivr.routes,
        *line_report.routes,
        *queue_report.routes,
        *wallboard.routes,
        *nodes.routes,  # issue 26: the PBX nodes
        *recordings.routes,
        *tasks.routes,
        *admin_export.routes,
        *statuses.routes,
        *tags.routes,
        *call_scripts.routes,
        *notifications.routes,
        *filters.routes,
        *export.routes,
        *reports.routes,
        *imports.routes,
        *pops.routes,
        *api_counterparty_find.routes,  # before /api/counterparties/{id:int}
        *api_counterparties.routes,
        *api_users.routes,
        *orders.routes,  # issue 22: orders and their customers
        *customers.routes,
        *chat_public.routes,  # issue 23: the web chat's widget and visitor socket (public: web/public_paths.py)
        *chats.routes,
        *chat_sites.routes,
        *chat_report.routes,
        *shop_orders.routes,  # issue 24: orders from web shops, their sources, what the shops call
        *shop_sources.routes,
        *shop_machine.routes,
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
    # Order: security headers outermost (so refusals carry them too), then the client's address
    # (web/client_address.py: every later check reads it, and so does the audit trail), then body
    # size and NUL checks,
    # then CSRF, then the request's lazily taken database connection (web/db.py), then the session check,
    # then the request's language and clock (web/locale.py), which need the user.
    middleware = [
        Middleware(SecurityHeadersMiddleware, phone_socket_url=settings.webrtc_url),
        Middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies),
        Middleware(RequestLimitsMiddleware),
        Middleware(CSRFMiddleware, secure_cookie=settings.cookie_secure),
        Middleware(ConnectionMiddleware),
        Middleware(AuthMiddleware),
        Middleware(LocaleMiddleware),
        # Then, in the user's language: the IP allow-list and a forced password change (web/access.py).
        Middleware(AllowListMiddleware),
        Middleware(PasswordChangeMiddleware),
        # A customer's user reaches its own pages only; the rest is 404 (web/customer_access.py, issue 22).
        Middleware(CustomerAccessMiddleware),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS,
                    lifespan=lifespan)
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """Factory for uvicorn (`pbxcrm web`), one app per worker process."""
    supervisor = multiprocessing.parent_process()
    if supervisor is not None and supervisor.pid is not None:
        # A worker of `pbxcrm web --workers N`: it stops (gracefully) when the supervisor dies, however.
        die_with_parent(supervisor.pid, signal.SIGTERM)
    return create_app(Settings.from_env())
