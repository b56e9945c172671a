"""A small call centre in Russian for the browser walks (issue 14): every page of the product
with real ids, seeded once per test module, and the web server that shows it.

The data is what Russian users type (Cyrillic names, titles, notes), so that a Latin word on a
Russian page is ours, not theirs. Three admins walk: Anna (her browser asks for Russian),
Olga (users.language = 'ru', her browser asks for English) and Elena (English everywhere).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import asyncpg
from starlette.routing import Mount, Route

from crm import audit, i18n
from crm.agents import queries as agents_q
from crm.calls import queries as calls_q
from crm.calls import route
from crm.calls import rule_queries as call_rules_q
from crm.calls.route import Outcome
from crm.calls.rules import ALLOW, SEE, Rule
from crm.counterparties import service, tray
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.dialing.queries import save_rule
from crm.dialing.rules import RuleInput
from crm.filters import save as save_filter
from crm.greetings.queries import insert_greeting
from crm.imports import jobs
from crm.ivr.model import MenuInput
from crm.ivr.queries import save_menu
from crm.lines.model import LineInput
from crm.lines.queries import save_line
from crm.lines.schedule import parse_holidays, parse_intervals
from crm.nodes import queries as nodes_q
from crm.notes import add_note
from crm.queues.model import QueueInput
from crm.queues.queries import save_queue
from crm.recordings.queries import insert_recording
from crm.settings import Settings
from crm.tags import TagInput, save_tag, set_tag
from crm.tasks import callbacks
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from crm.voicemails.queries import insert_voicemail, link_task
from tests.browser import WebServerProcess
from tests.dial_world import site_campaign
from tests.helpers import PASSWORD, make_user, workbook
from tests.mail_support import add_mailbox, incoming

MOSCOW = dt.timezone(dt.timedelta(hours=3))  # Europe/Moscow has kept UTC+3 since 2014


@dataclass(frozen=True)
class Walker:
    """Who walks the pages, and what language their browser asks for."""
    login: str
    full_name: str
    language: str  # the language the pages must be in
    browser: str  # the browser's locale (Accept-Language, navigator.language)
    extension: str
    user_language: str | None = None  # users.language


WALKERS = {
    "ru-browser": Walker("anna", "Анна Руднева", "ru", "ru-RU", "105"),
    "ru-user": Walker("olga", "Ольга Языкова", "ru", "en-US", "106", user_language="ru"),
    "en": Walker("elena", "Елена Смирнова", "en", "en-US", "107"),
}


@dataclass
class Site:
    url: str
    ids: dict[str, int]
    users: dict[str, asyncpg.Record]
    import_jobs: dict[str, int]  # walker's login -> the import they ran (My imports lists only one's own)
    first_call_at: dt.datetime  # the answered incoming call, for the check of the clock
    user_data: list[str] = field(default_factory=list)  # what people typed: never "ours"


@dataclass(frozen=True)
class Page:
    """A page of the product: its name in test ids, the route it exercises, its address with
    {placeholders} filled from Site.ids ({import_job} is the walker's own import)."""
    name: str
    route: str | None  # the Starlette path template; None for what is not a route (the 404 page)
    address: str
    anonymous: bool = False


PAGES = [
    Page("login", "/login", "/login", anonymous=True),
    Page("clients", "/clients", "/clients"),
    Page("companies", "/companies", "/companies"),
    Page("client card", "/counterparties/{id:int}", "/counterparties/{client}"),
    Page("company card", "/counterparties/{id:int}", "/counterparties/{company}"),
    Page("new client", "/counterparties/new", "/counterparties/new?kind=client"),
    Page("new company", "/counterparties/new", "/counterparties/new?kind=company"),
    Page("new client in a company", "/counterparties/new", "/counterparties/new?kind=client&company={company}"),
    Page("client form", "/counterparties/{id:int}/edit", "/counterparties/{client}/edit"),
    Page("company form", "/counterparties/{id:int}/edit", "/counterparties/{company}/edit"),
    Page("SMS chat", "/counterparties/{id:int}/sms", "/counterparties/{client}/sms"),  # issue 21
    # Issue 23: e-mail on the card, a message, writing one, the unfiled inbox, the report.
    Page("card e-mail", "/counterparties/{id:int}/mail", "/counterparties/{client}/mail"),
    Page("new e-mail", "/counterparties/{id:int}/mail/new", "/counterparties/{client}/mail/new"),
    Page("e-mail reply", "/counterparties/{id:int}/mail/new", "/counterparties/{client}/mail/new?thread={mail}"),
    Page("e-mail", "/mail/{id:int}", "/mail/{mail}"),
    Page("unfiled e-mail message", "/mail/{id:int}", "/mail/{unfiled_mail}"),
    Page("unfiled e-mail", "/mail/unfiled", "/mail/unfiled"),
    Page("e-mail report", "/reports/mail", "/reports/mail"),
    Page("tasks", "/tasks", "/tasks?responsible=all&status=all"),
    Page("new task", "/tasks/new", "/tasks/new?counterparty={client}"),
    Page("new deal", "/tasks/new", "/tasks/new?deal=1"),
    Page("task", "/tasks/{id:int}", "/tasks/{task}"),
    Page("deal", "/tasks/{id:int}", "/tasks/{deal}"),
    Page("note", "/notes/{id:int}", "/notes/{note}"),
    Page("calls", "/calls", "/calls"),
    Page("calls filtered", "/calls", "/calls?direction=incoming&status=answered&counterparty={client}&q=79"),
    Page("unknown callers", "/callers/unknown", "/callers/unknown"),
    Page("SMS", "/sms", "/sms"),
    Page("SMS filtered", "/sms", "/sms?direction=in&unattached=1&q=79"),
    Page("SMS of a counterparty", "/sms", "/sms?counterparty={client}"),  # its picker chosen
    Page("SMS campaigns", "/sms/campaigns", "/sms/campaigns"),
    Page("new SMS campaign", "/sms/campaigns/new", "/sms/campaigns/new"),
    Page("SMS campaign", "/sms/campaigns/{id:int}", "/sms/campaigns/{sms_campaign}"),
    Page("dial campaigns", "/dial-campaigns", "/dial-campaigns"),  # issue 22
    Page("new dial campaign", "/dial-campaigns/new", "/dial-campaigns/new"),
    Page("dial campaign", "/dial-campaigns/{id:int}", "/dial-campaigns/{predictive_campaign}"),
    Page("edit dial campaign", "/dial-campaigns/{id:int}/edit", "/dial-campaigns/{predictive_campaign}/edit"),
    Page("scheduled calls", "/scheduled-calls", "/scheduled-calls"),  # issue 22
    Page("scheduled call", "/scheduled-calls/{id:int}", "/scheduled-calls/{scheduled_call}"),
    Page("dial campaign numbers", "/dial-campaigns/{id:int}/numbers", "/dial-campaigns/{dial_campaign}/numbers"),
    Page("do not call", "/dial-campaigns/dnc", "/dial-campaigns/dnc"),  # issue 22
    Page("preview calls", "/dial-campaigns/preview", "/dial-campaigns/preview?campaign={dial_campaign}"),
    Page("orders", "/orders", "/orders"),  # issue 22
    Page("new order", "/orders/new", "/orders/new"),
    Page("order", "/orders/{id:int}", "/orders/{order}"),
    Page("order form", "/orders/{id:int}/edit", "/orders/{order}/edit"),
    Page("customers", "/admin/customers", "/admin/customers"),
    Page("shop orders", "/shop-orders", "/shop-orders"),  # issue 24
    Page("shop order", "/shop-orders/{id:int}", "/shop-orders/{shop_order}"),
    Page("shop sources", "/admin/shop-sources", "/admin/shop-sources"),
    Page("shop source", "/admin/shop-sources/{id:int}", "/admin/shop-sources/{shop_source}"),
    Page("call", "/calls/{id:int}", "/calls/{call}"),
    Page("unknown caller's call", "/calls/{id:int}", "/calls/{stranger_call}?find=Соколов"),
    Page("queue task", "/tasks/{id:int}", "/tasks/{queue_task}"),
    Page("call statistics", "/reports/calls", "/reports/calls"),
    Page("call statistics by operator", "/reports/calls", "/reports/calls?by=operator&metric=seconds"),
    Page("deals report", "/reports/deals", "/reports/deals"),
    Page("deals report filtered", "/reports/deals", "/reports/deals?status=in_progress&tag={tag}&notag={tag}"),
    Page("import", "/import", "/import"),
    Page("import job", "/import/{id:int}", "/import/{import_job}"),
    Page("lines report", "/reports/lines", "/reports/lines"),
    Page("queue report", "/reports/queues", "/reports/queues"),
    Page("agent report", "/reports/agents", "/reports/agents"),
    Page("wallboard", "/wallboard", "/wallboard"),  # with issue 26's banner: a PBX node is down
    Page("PBX nodes", "/pbx-nodes", "/pbx-nodes"),  # issue 26
    Page("users", "/admin/users", "/admin/users"),
    Page("user", "/admin/users/{id:int}", "/admin/users/{operator}"),
    Page("IP allow-lists", "/admin/allowlist", "/admin/allowlist"),
    Page("locked logins", "/admin/locks", "/admin/locks"),
    Page("settings", "/admin/settings", "/admin/settings"),
    Page("queues", "/admin/queues", "/admin/queues"),
    Page("queue", "/admin/queues/{id:int}", "/admin/queues/{queue}"),
    Page("lines", "/admin/lines", "/admin/lines"),
    Page("new line", "/admin/lines/new", "/admin/lines/new"),
    Page("line", "/admin/lines/{id:int}", "/admin/lines/{line}"),
    Page("dial rules", "/admin/dial-rules", "/admin/dial-rules?number=8%20(495)%20123-45-67"),
    Page("dial rule", "/admin/dial-rules/{id:int}", "/admin/dial-rules/{dial_rule}"),
    Page("call rules", "/admin/call-rules", "/admin/call-rules"),
    Page("call rule", "/admin/call-rules/{id:int}", "/admin/call-rules/{call_rule}"),
    Page("greetings", "/admin/greetings", "/admin/greetings"),
    Page("IVR menus", "/admin/ivr", "/admin/ivr"),
    Page("new IVR menu", "/admin/ivr/new", "/admin/ivr/new"),
    Page("IVR menu", "/admin/ivr/{id:int}", "/admin/ivr/{menu}"),
    Page("tags", "/admin/tags", "/admin/tags"),
    Page("statuses", "/admin/statuses", "/admin/statuses"),
    Page("call scripts", "/admin/call-scripts", "/admin/call-scripts"),
    Page("SMS gateways", "/admin/sms-gateways", "/admin/sms-gateways"),
    Page("SMS gateway", "/admin/sms-gateways/{id:int}", "/admin/sms-gateways/{sms_gateway}"),
    Page("mailboxes", "/admin/mailboxes", "/admin/mailboxes"),  # issue 23
    Page("mailbox", "/admin/mailboxes/{id:int}", "/admin/mailboxes/{mailbox}"),
    Page("task types", "/admin/task-types", "/admin/task-types"),
    # The client's changes, a contact's among them (issue 17: old and new value, from an address).
    Page("audit", "/admin/audit", "/admin/audit?entity=counterparty&id={client}"),
    Page("pause reasons", "/admin/pause-reasons", "/admin/pause-reasons"),
    Page("account", "/account", "/account"),
    Page("notifications", "/notifications", "/notifications"),
    Page("password", "/account/password", "/account/password"),
    Page("second factor", "/account/second-factor", "/account/second-factor"),
    Page("second factor admin", "/admin/second-factor", "/admin/second-factor"),
    # Issue 23: the web chat's desk and its lists, a conversation, the sites it is on, its report.
    Page("web chat", "/chats", "/chats"),
    Page("web chats closed", "/chats", "/chats?view=closed"),
    Page("web chat conversation", "/chats/{id:int}", "/chats/{chat}"),
    Page("chat sites", "/admin/chat-sites", "/admin/chat-sites"),
    Page("chat site", "/admin/chat-sites/{id:int}", "/admin/chat-sites/{chat_site}"),
    Page("web chat report", "/reports/chats", "/reports/chats"),
    Page("client card with web chats", "/counterparties/{id:int}", "/counterparties/{client}?kinds=chat"),
    Page("not found", None, "/counterparties/999999999"),
]
PAGE_BY_NAME = {p.name: p for p in PAGES}

# GET routes that answer no page, and why: the walk covers every other one (tests check it).
NOT_PAGES = {
    "/": "redirects to /clients",
    "/healthz": "JSON for the load balancer",
    "/events": "the screen pops' event stream",
    "/wallboard/events": "the wallboard's event stream",
    "/counterparties/{id:int}/sms/events": "a card's SMS chat as an event stream (issue 21)",
    "/counterparties/{id:int}/sms.json": "a card's SMS chat as JSON (issue 21)",
    "/recordings/{id:int}": "audio",
    "/mail/{id:int}/body": "an e-mail's sanitised HTML body, the e-mail page's sandboxed frame (issue 23)",
    "/mail/attachments/{id:int}": "an e-mail's attachment, a download (issue 23)",
    "/mail/{id:int}/events": "an outgoing e-mail's status as an event stream (issue 23)",
    "/admin/greetings/{id:int}/audio": "audio",
    "/calls/{id:int}.json": "the call's page as JSON",
    "/admin/audit.json": "the audit viewer as JSON",
    "/dial-campaigns/{id:int}.json": "a dial campaign and its dashboard as JSON (issue 22)",
    "/voicemails/{id:int}": "audio",
    "/account/second-factor/qr.svg": "the QR code being set up, an image",
    "/login/second-factor/qr.svg": "the QR code being set up, an image",
    # Reached only with a right password first; tests/test_second_factor.py reads them in both languages.
    "/login/second-factor": "the login's second step (needs a pending login)",
    "/login/second-factor/enrol": "setting up a required second factor at login (needs a pending login)",
    # tests/test_browser_phone.py opens it: a desk-phone user (every walker) is sent on to its page.
    "/phone": "the browser phone's shell around the pages (issue 19)",
    # Issue 23: the web chat's widget (a script for other sites) and its event streams.
    "/chat/widget.js": "the web chat's widget, a script other sites load (issue 23)",
    "/chats/events": "the chat desk's invitations as an event stream (issue 23)",
    "/chats/{id:int}/events": "a web chat as an event stream (issue 23)",
    "/shop-orders/1c/{key}/exchange": "a shop's 1C exchange: text for 1C, not a page (issue 24)",
}


def page_routes() -> set[str]:
    """Every GET route of the app that answers HTML: not /api/, not a download, not NOT_PAGES."""
    from web.app import create_app

    app = create_app(Settings(database_url="postgresql://unused"))
    found = set()
    for r in app.routes:
        if isinstance(r, Mount) or not isinstance(r, Route) or "GET" not in (r.methods or ()):
            continue
        path = r.path
        if path.startswith("/api/") or path.endswith(".xlsx") or path in NOT_PAGES:
            continue
        found.add(path)
    return found


def address(page: Page, site: Site, walker: Walker) -> str:
    return site.url + page.address.format(**site.ids, import_job=site.import_jobs[walker.login])


async def _sms(conn: asyncpg.Connection, anna, client: int, t) -> int:
    """SMS (issue 21): a gateway with a sending number, a chat with the client and a stranger's message."""
    from crm.sms import gateway_admin

    gateway = await gateway_admin.save_gateway(conn, anna["id"], None, t("Провайдер СМС"), "smpp", True, {
        "host": "smsc.example.ru", "port": "2775", "system_id": "pbxcrm", "password": "s3cret-pass"})
    await gateway_admin.save_number(conn, anna["id"], "+7 495 765-43-21", gateway, True, "RU")
    for phone, card, direction, body in (("+79165554433", client, "out", t("Ваш заказ готов")),
                                         ("+79165554433", client, "in", t("Спасибо, заеду завтра")),
                                         ("+79031112233", None, "in", t("Кто это? Перезвоните"))):
        await conn.execute(
            "INSERT INTO sms_messages (direction, phone, counterparty_id, own_number, body, gateway_id, user_id, "
            "status) VALUES ($1, $2, $3, '+74957654321', $4, $5, $6, $7)", direction, phone, card, body, gateway,
            anna["id"] if direction == "out" else None, "delivered" if direction == "out" else "received")
    return gateway


async def _web_chat(conn: asyncpg.Connection, anna, client: int, t) -> dict[str, int]:
    """The web chat (issue 23): a site, and a visitor's conversation Anna took and attached to the client."""
    from crm.webchat import queries as chat_q
    from crm.webchat import service as chat_service
    from crm.webchat import sites as chat_sites

    site = await chat_sites.save(conn, anna["id"], None, chat_sites.SiteInput(
        name=t("Интернет-магазин"), origins_text="https://shop.example.ru", anonymize_ip=True, enabled=True,
        offline_user_id=anna["id"], offline_queue_id=None))
    row = await chat_q.site(conn, site)
    t(row["public_key"])  # the site's key and secret are on its page: data, not words of ours
    t(row["identity_secret"])
    visitor = await chat_q.insert_visitor(conn, site, b"walk-visitor")
    arrival = chat_service.Arrival({"url": "https://shop.example.ru/catalog", "title": t("Каталог"), "referrer": ""},
                                   t("Mozilla/5.0 (X11; Linux x86_64)"), "203.0.113.77")
    chat, _message = await chat_service.visitor_message(conn, row, visitor, t("Здравствуйте, где мой заказ?"),
                                                        arrival, "RU")
    await chat_service.accept(conn, anna, chat)
    await chat_service.operator_message(conn, anna, chat, t("Добрый день! Заказ уже в пути."))
    await chat_service.attach(conn, anna, chat, client)
    return {"chat_site": site, "chat": chat}
async def _shop_order(conn: asyncpg.Connection, anna, t) -> tuple[int, int]:
    """A shop's webhook source (issue 24) and an order from it, with a line, on a new client's card."""
    from crm.shop_orders import model, sources, store

    now = dt.datetime.now(dt.timezone.utc)
    source = await sources.save(conn, anna["id"], None, sources.SourceInput(
        name=t("Интернет-магазин Лавка"), kind="webhook", secret=t("s3cret-wc"), notify_manager=True), now)
    row = await conn.fetchrow("SELECT * FROM shop_sources WHERE id = $1", source)
    await store.save_orders(conn, row, [model.Incoming(
        external_id=t("wc-727"), number="727", status=t("Принят"), total=Decimal("1299.00"), currency=t("руб"),
        first_name=t("Анна"), last_name=t("Петрова"), phone="+7 916 555-12-34", email=t("anna.petrova@example.ru"),
        address=t("Казань, ул. Ленина, 5"), lines=(model.Line(name=t("Плед шерстяной"), quantity=Decimal(1),
                                                               price=Decimal(999), total=Decimal(999)),))],
        region="RU", now=now, zone=MOSCOW)
    return source, await conn.fetchval("SELECT id FROM shop_orders WHERE source_id = $1", source)


async def _order(conn: asyncpg.Connection, anna, t) -> int:
    """An outsourcing customer's order (issue 22) with a script, two rows and a URL
    whose last read failed (its reason on the page)."""
    from crm.orders import customers, loader

    customer = await customers.save(conn, anna["id"], None, t("Ромашка"))
    order = await conn.fetchval(
        """INSERT INTO orders (customer_id, name, script, source_url, reload_minutes, last_error)
           VALUES ($1, $2, $3, 'https://lists.example.ru/orders.csv', 60, $4) RETURNING id""",
        customer, t("Опрос клиентов"), t("Здравствуйте! Это опрос магазина Ромашка."),
        t("Ошибка 503 на lists.example.ru"))
    await loader.store(conn, order, loader.parse(
        [t("Телефон"), t("ФИО"), t("Город")], [(2, ["+7 495 111-22-33", t("Иванов Иван"), t("Москва")]),
                                                (3, ["+7 495 111-22-44", t("Петров Пётр"), t("Тверь")])],
        key_column="", region="RU"))
    return order


async def _scheduled_call(conn: asyncpg.Connection, anna, client: int, task: int, now: dt.datetime, t) -> int:
    """A call planned from a task for tomorrow (issue 22, H8), with a note."""
    from crm.scheduled_calls import queries as scheduled_q

    return await scheduled_q.create(conn, anna, scheduled_q.ScheduledCallInput(
        number="+7 495 123-45-67", due_at=now + dt.timedelta(days=1), note=t("Спросить про договор"),
        counterparty_id=client, task_id=task), now=now, region="RU")


async def _sms_campaign(conn: asyncpg.Connection, anna, t) -> int:
    """A draft SMS campaign to every client (issue 21, I2), its recipients checked."""
    from crm.sms.campaigns import queries as campaigns_q
    from crm.sms.campaigns import recipients

    campaign = await campaigns_q.create(conn, anna, campaigns_q.CampaignInput(
        t("Весенняя распродажа"), t("Здравствуйте, {first_name}! Скидка 10% до пятницы.")))
    await recipients.from_filter(conn, campaign, recipients.TagFilter(), "RU")
    await recipients.prepare(conn, campaign, "Europe/Moscow")
    return campaign


async def empty_database(pool: asyncpg.Pool) -> None:
    from tests.conftest import empty_database as empty

    await empty(pool)  # task types other tests made (in English) are gone too; the migration's five stay


async def seed(pool: asyncpg.Pool, region: str = "RU") -> tuple[dict[str, int], dict[str, asyncpg.Record],
                                                                dt.datetime, list[str]]:
    """The call centre's people, clients, calls, tasks and settings; every text in Russian."""
    typed: list[str] = []

    def t(text: str) -> str:
        typed.append(text)
        return text

    users = {}
    for walker in WALKERS.values():
        users[walker.login] = await make_user(pool, walker.login, "admin", full_name=t(walker.full_name),
                                              extension=walker.extension, email=f"{walker.login}@example.ru")
    irina = users["irina"] = await make_user(pool, "irina", "manager", full_name=t("Ирина Иванова"),
                                             extension="102", email="irina@example.ru")
    petr = users["petr"] = await make_user(pool, "petr", "operator", full_name=t("Пётр Сидоров"), extension="103")
    users["boris"] = await make_user(pool, "boris", "supervisor", full_name=t("Борис Орлов"), extension="104")
    anna = users["anna"]
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    today = now.astimezone(MOSCOW).date()
    async with pool.acquire() as conn:
        await conn.execute("UPDATE users SET is_blocked = true WHERE login = 'boris'")
        # Issue 17: Pyotr may work from the office only, and someone has been guessing his password.
        await conn.execute("INSERT INTO ip_allow_entries (user_id, network, note, created_by) "
                           "VALUES ($1, '192.0.2.0/24', $2, $3)", petr["id"], t("Офис на Тверской"),
                           users["anna"]["id"])
        await conn.execute("INSERT INTO login_failures (scope, key, failures, last_failure_at) "
                           "VALUES ('login', 'petr', 9, now())")
        for walker in WALKERS.values():
            if walker.user_language:
                await conn.execute("UPDATE users SET language = $2 WHERE login = $1", walker.login,
                                   walker.user_language)
        queue = await save_queue(conn, anna["id"], None, QueueInput(t("Отдел продаж"),
                                                                    member_ids=(irina["id"], petr["id"])))
        # The walkers answer the default queue: the header shows their presence (issue 18), one paused.
        for walker in WALKERS.values():
            await conn.execute("INSERT INTO queue_members (queue_id, user_id) SELECT q.id, u.id FROM queues q, users u "
                               "WHERE q.is_default AND u.login = $1", walker.login)
        await agents_q.change(conn, users["elena"]["id"], "pause", source="web",
                              reason_id=(await agents_q.reason_ids(conn))[0])
        tag = await save_tag(conn, anna["id"], None, TagInput(t("Важный"), t("Крупный оптовый клиент")))
        weekdays = (parse_intervals("09:00-13:00, 14:00-18:00"),) * 5 + ((), ())
        line = await save_line(conn, anna["id"], None, LineInput(
            name=t("Городской номер"), trunk="mgts", did="+74957654321", language="ru", route_kind="crm",
            hours_enabled=True, weekly=weekdays, after_hours_kind="queue", after_hours_queue_id=queue,
            holidays=tuple(parse_holidays(f"{today.year + 1}-01-01 {t('День города')}").values())))
        dial_rule = await save_rule(conn, anna["id"], None, RuleInput(
            pattern="8XXXXXXXXXX", strip=1, prepend="+7", trunk="mgts", position=10, note=t("Межгород через МГТС")))
        # A call rule that changes nothing the walk sees (managers see their clients' calls anyway).
        call_rule = await call_rules_q.save(conn, anna["id"], None, Rule(
            SEE, ALLOW, roles=frozenset({"manager"}), owner=True, line_ids=frozenset({line}), position=5,
            note=t("Правило отдела продаж")))
        company = await service.create(conn, anna, CounterpartyInput(
            kind="company", company_name=t("ООО «Ромашка»"), responsible_user_id=irina["id"],
            remark=t("оптовик, платит с задержкой"), comment=t("Познакомились на выставке «Связь»"),
            contacts=(ContactInput("phone", "+7 495 765-43-21"), ContactInput("email", "office@romashka.example.ru")),
            addresses=(t("Москва, ул. Ленина, д. 1, офис 12"),)), region)
        client = await service.create(conn, anna, CounterpartyInput(
            kind="client", last_name=t("Соколов"), first_name=t("Иван"), patronymic=t("Петрович"),
            responsible_user_id=irina["id"], queue_id=queue, remark=t("звонить после 14:00"),
            comment=t("Старый клиент, вернулся после перерыва"), company_ids=(company,),
            contacts=(ContactInput("phone", "+7 495 123-45-67, доб. 123"), ContactInput("phone", "+7 916 555-44-33"),
                      ContactInput("email", "sokolov@example.ru")),
            addresses=(t("Москва, Тверская ул., д. 7"),)), region)
        other = await service.create(conn, anna, CounterpartyInput(
            kind="client", last_name=t("Кузнецова"), first_name=t("Мария"), status="potential",
            contacts=(ContactInput("phone", "8 (812) 300-20-10"),)), region)
        typed.extend(["Соколов Иван Петрович", "Кузнецова Мария", "+7 495 123-45-67, доб. 123"])
        mobile = await conn.fetchval("SELECT id FROM contacts WHERE counterparty_id = $1 AND value = $2",
                                     client, "+7 916 555-44-33")
        with audit.acting_from("192.0.2.10"):  # as a request from there would
            await service.update_contact(conn, anna, mobile, ContactInput("phone", "+7 916 555-44-34"), region)
        await set_tag(conn, anna, "counterparty", client, tag, on=True)
        note = await add_note(conn, irina, body=t("Просил счёт на апрель"), counterparty_id=client)

        types = {r["name"]: r["id"] for r in await conn.fetch("SELECT id, name FROM task_types")}
        task = await task_service.create(conn, anna, TaskInput(
            title=t("Перезвонить по договору поставки"), type_id=types["Call back"],
            responsible_user_id=irina["id"], counterparty_id=client, status="in_progress",
            deadline_date=today - dt.timedelta(days=1), deadline_time=dt.time(18, 0),
            remark=t("Уточнить сроки"), participant_ids=(petr["id"],)))
        deal = await task_service.create(conn, anna, TaskInput(
            title=t("Поставка оборудования"), type_id=types["Deal"], responsible_user_id=irina["id"],
            counterparty_id=company, status="done", outcome="won", amount=Decimal("150000.50"),
            deadline_date=today))
        await task_service.create(conn, anna, TaskInput(
            title=t("Годовой контракт"), type_id=types["Deal"], responsible_user_id=irina["id"],
            counterparty_id=company, amount=Decimal("480000"), deadline_date=today + dt.timedelta(days=20)))
        await set_tag(conn, anna, "task", task, tag, on=True)
        await add_note(conn, petr, body=t("Клиент просит перезвонить завтра"), task_id=task)

        first_call_at = await _calls(conn, now, client, irina, petr, queue, line, t)
        queue_task = await _stranger_task(conn, queue)
        ivr_ids = await _ivr(conn, anna, queue, petr, t)
        sms_gateway = await _sms(conn, anna, client, t)
        mailbox = await conn.fetchval(  # issue 23: a mailbox the poller could not reach
            """INSERT INTO mailboxes (name, address, imap_host, imap_user, imap_password, last_error)
               VALUES ($1, 'sales@example.test', 'imap.example.test', 'sales', 'secret', $2) RETURNING id""",
            t("Отдел продаж"), "IMAP imap.example.test:993: ConnectionRefusedError")
        sms_campaign = await _sms_campaign(conn, anna, t)
        dial_campaign = await site_campaign(conn, {k: users[k] for k in ("anna", "olga", "elena")}, t)  # issue 22
        predictive_campaign = await _dial_campaign(conn, anna, [petr["id"], irina["id"]], t)  # its dashboard's figures
        scheduled_call = await _scheduled_call(conn, anna, client, task, now, t)
        order = await _order(conn, anna, t)
        mail = await _mail(conn, petr, client, t)  # issue 23
        web_chat = await _web_chat(conn, anna, client, t)  # issue 23
        shop_source, shop_order = await _shop_order(conn, anna, t)  # issue 24
        # Issue 26: two PBX nodes, one up, one whose Asterisk does not answer (the wallboard's banner).
        await nodes_q.say(conn, t("pbx-a"), t("http://10.0.0.11:8088"), True, 2)
        await nodes_q.say(conn, t("pbx-b"), t("http://10.0.0.12:8088"), False, 0)
        calls = {r["channel_id"]: r["id"] for r in await conn.fetch("SELECT id, channel_id FROM calls")}
        # The unanswered walk-2 left a voicemail (issue 15): on the client's card and the task's page.
        voicemail = await insert_voicemail(conn, channel_id="walk-2", path="/nonexistent/walk-2.mp3", fmt="mp3",
                                           seconds=17.0, size=None, queue_id=queue)
        assert voicemail is not None
        await link_task(conn, voicemail, task)
        await calls_q.mark_caller_left(conn, "walk-2", "voicemail")
        await calls_q.append_route_step(conn, "walk-2", route.step("note", "nothing", Outcome("voicemail_left",
                                                                                     {"seconds": 17})))
        # And the unknown caller's voicemail of walk-4, in the unknown callers list.
        stranger_voicemail = await insert_voicemail(conn, channel_id="walk-4", path="/nonexistent/walk-4.mp3",
                                                    fmt="mp3", seconds=9.0, size=None, queue_id=queue)
        assert stranger_voicemail is not None
        await link_task(conn, stranger_voicemail, queue_task)
        for walker in WALKERS.values():
            me = users[walker.login]
            await save_filter(conn, me["id"], "clients", t("Мои важные"), f"tag={tag}")
            await save_filter(conn, me["id"], "tasks", t("Просроченные"), "overdue=1&responsible=all")
            await tray.collapse(conn, me["id"], other)
    ids = {"client": client, "company": company, "other_client": other, "task": task, "deal": deal, "note": note,
           "queue_task": queue_task, "call": calls["walk-1"], "stranger_call": calls["walk-4"],
           "queue": queue, "tag": tag, "line": line, "dial_rule": dial_rule, "call_rule": call_rule, "sms_gateway": sms_gateway,
           "mailbox": mailbox, "sms_campaign": sms_campaign, "order": order, "dial_campaign": dial_campaign, "scheduled_call": scheduled_call,
           "predictive_campaign": predictive_campaign, **mail, "shop_source": shop_source, "shop_order": shop_order,
           "operator": petr["id"], "manager": irina["id"]}
    ids.update(ivr_ids)
    ids.update(web_chat)
    return ids, users, first_call_at, typed


async def _mail(conn: asyncpg.Connection, petr, client: int, t) -> dict[str, int]:
    """E-mail (issue 23): a thread on the client's card (a message in, with an HTML body and an attachment,
    and Pyotr's reply), and a message from an unknown sender."""
    box = await add_mailbox(conn, "support@romashka.example.ru", t("Служба поддержки"))
    first = await incoming(conn, mailbox_id=box, from_address="sokolov@example.ru", from_name=t("Иван Соколов"),
                           subject=t("Счёт на апрель"), cards=(client,), body_text=t("Пришлите, пожалуйста, счёт."),
                           body_html=f"<p>{t('Пришлите, пожалуйста, счёт.')}</p>",
                           attachments=(("реквизиты.pdf", "application/pdf", b"%PDF-1.4", ""),))
    reply = await conn.fetchval(
        """INSERT INTO mail_messages (direction, mailbox_id, message_id, in_reply_to, references_ids, thread_id,
               from_address, to_addresses, subject, body_text, status, user_id, attempts, error)
           VALUES ('out', $1, 'site-reply@romashka.example.ru', $2, ARRAY[$2], $3, 'support@romashka.example.ru',
                   ARRAY['sokolov@example.ru'], $4, $5, 'failed', $6, 5, '554 5.7.1') RETURNING id""",
        box, await conn.fetchval("SELECT message_id FROM mail_messages WHERE id = $1", first), first,
        t("Re: Счёт на апрель"), t("Счёт во вложении."), petr["id"])
    await conn.execute("INSERT INTO mail_message_cards (message_id, counterparty_id, address, filed_by) "
                       "VALUES ($1, $2, 'sokolov@example.ru', 'user')", reply, client)
    unfiled = await incoming(conn, mailbox_id=box, from_address="new@firma.example.ru", from_name=t("Ольга Новикова"),
                             subject=t("Вопрос о доставке"), body_text=t("Доставляете ли вы в Тверь?"))
    return {"mail": first, "unfiled_mail": unfiled}


async def _dial_campaign(conn: asyncpg.Connection, anna, agents: list[int], t) -> int:
    """A dial campaign (issue 22) with two agents, three numbers (one on the do-not-call list) and a few attempts."""
    from crm.outbound import campaigns

    campaign = await campaigns.create(conn, anna, campaigns.CampaignInput(
        t("Обзвон по акции"), mode="predictive", agent_ids=tuple(agents), amd=True))
    for number, status, skip in (("+79165550101", "done", ""), ("+79165550102", "pending", ""),
                                 ("+79165550103", "skipped", "dnc")):
        number_id = await conn.fetchval(
            "INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, status, skip_reason) "
            "VALUES ($1, $2, $2, $3, $4) RETURNING id", campaign, number, status, skip)
        if status == "done":
            await conn.execute("INSERT INTO dial_attempts (campaign_id, number_id, outcome, ended_at) "
                               "VALUES ($1, $2, 'busy', now()), ($1, $2, 'answered', now())", campaign, number_id)
    return campaign


async def _ivr(conn, anna, queue: int, petr, t) -> dict[str, int]:
    """An uploaded greeting (no file: the page links it, preload none) and a menu that plays it (issue 15)."""
    greeting = await insert_greeting(conn, anna["id"], name=t("Здравствуйте, вы позвонили в Ромашку"), file="greeting-walk",
                                     original_name=t("приветствие.mp3"), seconds=7.5)
    menu = await save_menu(conn, anna["id"], None, MenuInput(
        name=t("Главное меню"), prompt=f"greeting:{greeting}", timeout_route=f"queue:{queue}",
        keys={"1": f"queue:{queue}", "2": f"user:{petr['id']}", "0": "hangup"}))
    return {"greeting": greeting, "menu": menu}


async def _calls(conn, now: dt.datetime, client: int, irina, petr, queue: int, line: int, t) -> dt.datetime:
    """An answered incoming call through the manager to the queue, a missed one, an outgoing one and
    a busy unknown caller, all in the past day; the first at 21:30:05 UTC yesterday (00:30:05 MSK)."""
    day = (now - dt.timedelta(days=1)).date()
    first = dt.datetime.combine(day, dt.time(21, 30, 5), tzinfo=dt.timezone.utc)
    hours = dt.timedelta(hours=1)
    calls = [
        ("walk-1", "incoming", "+7 495 123-45-67", "+74951234567", "74957654321", "+74957654321", first,
         12, 154, petr["id"], 16),
        ("walk-2", "incoming", "+7 916 555-44-33", "+79165554433", "74957654321", "+74957654321", first - 3 * hours,
         None, None, None, 16),
        ("walk-3", "outgoing", "102", None, "84951234567", "+74951234567", first - 5 * hours,
         9, 305, irina["id"], 16),
        ("walk-4", "incoming", "+7 903 111-22-33", "+79031112233", "74957654321", "+74957654321", first - 6 * hours,
         None, None, None, 17),
    ]
    for channel, direction, caller, caller_norm, called, called_norm, started, answer_after, talk, operator, cause \
            in calls:
        await calls_q.insert_call(conn, channel_id=channel, direction=direction, caller_number=caller,
                                  caller_normalized=caller_norm,
                                  caller_name=t("Соколов И. П.") if channel == "walk-1" else "",
                                  called_number=called, called_normalized=called_norm,
                                  line="PJSIP/mgts", started_at=started, linked_id=None,
                                  line_id=line if direction == "incoming" else None,
                                  caller_user_id=irina["id"] if direction == "outgoing" else None)
        if answer_after is not None:
            answered = started + dt.timedelta(seconds=answer_after)
            await calls_q.mark_answered(conn, channel, answered, operator, queue if channel == "walk-1" else None)
            ended = answered + dt.timedelta(seconds=talk)
        else:
            ended = started + dt.timedelta(seconds=40)
        await calls_q.mark_ended(conn, channel, ended, cause)
    # The route as ari_app writes it (ari_app/inbound/session.py), and the operator's comment.
    manager = route.step("manager", "manager", Outcome("no_answer", {"seconds": 20}), name="Ирина Иванова")
    for step in (manager, route.step("queue", "queue", Outcome("answered_by", {"name": "Пётр Сидоров", "seconds": 12}),
                                     name="Отдел продаж")):
        await calls_q.append_route_step(conn, "walk-1", step)
    for step in (manager, route.step("queue", "queue", Outcome("nobody_answered", {"seconds": 120}),
                                     name="Отдел продаж")):
        await calls_q.append_route_step(conn, "walk-2", step)
    # Sidorov answered walk-1, talked 100 s, then transferred it to Ivanova from the web (issue 15).
    await calls_q.append_route_step(conn, "walk-1", route.step(
        "user", "transfer_user", Outcome("answered"), name="Ирина Иванова", by="Пётр Сидоров"))
    await conn.execute(
        """INSERT INTO call_legs (call_id, position, user_id, name, how, transferred_by, answered_at, ended_at)
           SELECT c.id, 1, $1::bigint, '', 'answered', NULL::bigint, c.answered_at, c.answered_at + interval '100 seconds'
           FROM calls c WHERE c.channel_id = 'walk-1'
           UNION ALL
           SELECT c.id, 2, $2::bigint, '', 'web', $1::bigint, c.answered_at + interval '101 seconds', c.ended_at
           FROM calls c WHERE c.channel_id = 'walk-1'""", petr["id"], irina["id"])
    await conn.execute("UPDATE calls SET comment = $1 WHERE channel_id = 'walk-1'", t("Хочет скидку 5 %"))
    await insert_recording(conn, channel_id="walk-1", path=None, fmt="wav", duration=154.0, size=None,
                           asterisk_name="walk-1", error=None)
    return first


async def _stranger_task(conn, queue: int) -> int:
    """The unknown caller of walk-4 waited in the sales queue, then left a voicemail: a task the queue holds."""
    call = await conn.fetchrow("SELECT id, caller_number, started_at FROM calls WHERE channel_id = 'walk-4'")
    await calls_q.mark_queued(conn, "walk-4", queue)
    task = await callbacks.create_for_stranger(conn, number=call["caller_number"], reason="missed",
                                               call_id=call["id"], at=call["started_at"])
    await callbacks.create_for_stranger(conn, number=call["caller_number"], reason="voicemail",
                                        call_id=call["id"], at=call["started_at"] + dt.timedelta(minutes=1))
    return task


async def run_imports(pool: asyncpg.Pool, users: dict[str, asyncpg.Record], tmp: Path,
                      region: str = "RU") -> dict[str, int]:
    """Each walker's own import (one good row, one rejected), run as the app runs it, in their language."""
    found = {}
    for n, walker in enumerate(WALKERS.values()):
        me = users[walker.login]
        path = tmp / f"import-{walker.login}.xlsx"
        path.write_bytes(workbook(["Фамилия", "Имя", "Телефоны"],
                                  [["Ковалёв", "Андрей", f"+7 916 700-00-{n:02d}"], ["", "", "нет"]]))
        async with pool.acquire() as conn:
            job = await jobs.create(conn, me["id"], "counterparties", "valid", "клиенты.xlsx")
        with i18n.using(walker.user_language or walker.language):
            await jobs.run(pool, job, path, me, region)
        found[walker.login] = job
    return found


async def start_site(pool: asyncpg.Pool, database_url: str, tmp: Path) -> tuple[Site, WebServerProcess]:
    """An empty database seeded in Russian, and `pbxcrm web` on it in the call centre's zone, Moscow."""
    await empty_database(pool)
    ids, users, first_call_at, typed = await seed(pool)
    imports = await run_imports(pool, users, tmp)
    env = {k: v for k, v in os.environ.items() if k != "PBXCRM_TIMEZONE"}
    # The trunk's endpoint is the provider's name, as the seeded line's ("trunk" would read as the word).
    server = WebServerProcess(dict(env, DATABASE_URL=database_url, PBXCRM_TRUNK="mgts"), tmp / "web.log")
    await server.start()
    # The import's data, and the PBX's names an admin chose (the trunk a call came by, the music class).
    typed.extend(["Ковалёв", "Андрей", "Ковалёв Андрей", "клиенты.xlsx", "нет", "PJSIP/mgts", "mgts", "default"])
    return Site(server.url, ids, users, imports, first_call_at, typed), server


async def logged_in_context(chromium, site: Site, walker: Walker, width: int = 1400, height: int = 900):
    """One browser context per walker, in their browser's language, on a clock far from Moscow."""
    context = await chromium.new_context(
        locale=walker.browser, timezone_id="America/New_York", viewport={"width": width, "height": height},
        extra_http_headers={"Accept-Language": f"{walker.browser},{walker.browser[:2]};q=0.9"})
    page = await context.new_page()
    await page.goto(site.url + "/login")
    await page.fill("input[name=login]", walker.login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(site.url + "/clients")
    return context, page
