"""What shops call (issue 24, K1): a shop's 1C exchange (/shop-orders/1c/<key>/exchange, the CommerceML
protocol: crm/shop_orders/exchange.py) and WooCommerce's order webhook (/shop-orders/webhook/<key>). No
session, no CSRF token (web/machine_paths.py lets exactly these through): each proves itself, the
exchange by Basic auth and the session cookie its checkauth gave, the webhook by its HMAC signature. A
wrong one is 401 and nothing is read or stored; so is an unknown or inactive source's key."""

from __future__ import annotations

import json
import logging
import re
import zoneinfo

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from crm.i18n import gettext as _
from crm.orders.sources import SourceError
from crm.shop_orders import exchange, loader, store, woocommerce
from crm.shop_orders import sources as shop_sources
from web.client_address import client_address
from web.db import connection

log = logging.getLogger(__name__)

_PING = re.compile(rb"webhook_id=[0-9]{1,20}")


def _text(body: str, status: int = 200, **headers) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status, headers=headers or None)


def _failure(why: str, status: int = 200) -> PlainTextResponse:
    return _text(f"failure\n{why}\n", status)


def _refused(request: Request, source_id: int, why: str) -> Response:
    log.warning("shop source %d: exchange from %s refused: %s", source_id, client_address(request), why)
    return _text("failure\n" + _("wrong login or password") + "\n", 401,
                 **{"WWW-Authenticate": 'Basic realm="pbxcrm shop exchange"'})


async def exchange_1c(request: Request) -> Response:
    """GET or POST /shop-orders/1c/<key>/exchange?type=sale&mode=..."""
    params = request.query_params
    mode = params.get("mode", "")
    if params.get("type", "sale") != "sale":
        return _failure(_("only type=sale (orders) is exchanged here"))
    settings = request.app.state.settings
    now = settings.clock.now()
    async with connection(request) as conn:
        source = await shop_sources.by_key(conn, request.path_params["key"], "commerceml")
        if source is None:  # as a wrong password: the path's key is half the secret
            log.warning("shop exchange from %s: no active source has this key", client_address(request))
            return _text("failure\n" + _("wrong login or password") + "\n", 401)
        credentials = exchange.basic_credentials(request.headers.get("authorization"))
        if mode == "checkauth":
            if not exchange.authorised(source, credentials):
                return _refused(request, source["id"], "checkauth: wrong credentials")
            new_cookie = await exchange.open_session(conn, source["id"], now)
            return _text(f"success\n{exchange.COOKIE}\n{new_cookie}\n")
        cookie = request.cookies.get(exchange.COOKIE)
        if not await exchange.session_valid(conn, source["id"], cookie, now):
            if not exchange.authorised(source, credentials):
                return _refused(request, source["id"], f"{mode[:20]}: no session, no credentials")
            cookie = await exchange.open_session(conn, source["id"], now)
        assert cookie is not None
        if mode == "init":
            return _text(f"zip=no\nfile_limit={exchange.FILE_LIMIT}\n")
        if mode == "file":
            if request.method != "POST":
                return _failure(_("the file comes as a POST body"))
            chunk = await request.body()
            if not await exchange.append_file(conn, cookie, exchange.safe_filename(params.get("filename", "")), chunk):
                return _failure(_("the file is larger than %(mb)d MB") % {"mb": exchange.MAX_FILE_BYTES // 2**20})
            return _text("success\n")
        if mode == "import":
            body = await exchange.take_file(conn, cookie, exchange.safe_filename(params.get("filename", "")))
            if body is None:
                return _failure(_("no such file was uploaded in this session"))
            try:
                counts = await loader.load_body(conn, source, body, region=settings.default_region, now=now,
                                                timezone=settings.timezone)
            except SourceError as e:
                return _failure(str(e))
            why = store.outcome_text(counts)
            return _text(f"success\n{why}\n" if why else "success\n")
        if mode == "query":
            return Response(exchange.empty_document(now), media_type="application/xml; charset=utf-8")
        if mode == "success":
            return _text("success\n")
    return _failure(_("unknown mode %(mode)s") % {"mode": mode[:40]})


async def webhook(request: Request) -> Response:
    """POST /shop-orders/webhook/<key>: WooCommerce's order.created / order.updated."""
    body = await request.body()
    if len(body) > woocommerce.MAX_BODY:
        return JSONResponse({"error": _("the request is too big")}, status_code=413)
    settings = request.app.state.settings
    async with connection(request) as conn:
        source = await shop_sources.by_key(conn, request.path_params["key"], "webhook")
        if source is None:  # as a wrong signature: the path's key is half the secret
            log.warning("shop webhook from %s: no active source has this key", client_address(request))
            return JSONResponse({"error": _("signature missing or wrong")}, status_code=401)
        if not body.strip() or _PING.fullmatch(body.strip()):
            return JSONResponse({"ok": True, "ping": True})  # WooCommerce's ping when the webhook is saved
        if not woocommerce.signed(source["secret"], body, request.headers.get(woocommerce.SIGNATURE_HEADER)):
            log.warning("shop source %d: webhook from %s refused: bad signature", source["id"],
                        client_address(request))
            return JSONResponse({"error": _("signature missing or wrong")}, status_code=401)
        topic = request.headers.get(woocommerce.TOPIC_HEADER, "")
        if topic not in woocommerce.ORDER_TOPICS:
            return JSONResponse({"ok": True, "ignored": topic[:60]})
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return JSONResponse({"error": _("the body is not JSON")}, status_code=400)
        try:
            order = woocommerce.order_of(data)
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        counts = await store.save_orders(conn, source, [order], region=settings.default_region,
                                         now=settings.clock.now(), zone=zoneinfo.ZoneInfo(settings.timezone))
        order_id = await conn.fetchval("SELECT id FROM shop_orders WHERE source_id = $1 AND external_id = $2",
                                       source["id"], order.external_id)
    if counts["failed"]:
        return JSONResponse({"error": _("the order could not be stored")}, status_code=503)
    return JSONResponse({"ok": True, "id": order_id, **{k: counts[k] for k in ("added", "changed", "unchanged")}})


routes = [
    Route("/shop-orders/1c/{key}/exchange", exchange_1c, name="shop_machine.exchange", methods=["GET", "POST"]),
    Route("/shop-orders/webhook/{key}", webhook, name="shop_machine.webhook", methods=["POST"]),
]
