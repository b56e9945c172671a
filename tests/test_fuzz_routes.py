"""Every route, fuzzed: random path ids, query strings, JSON and form bodies never get a 500 (issue 12).

The app's routes are enumerated (recursing into Mounts, except /static), and for each
route and method hypothesis sends, as an operator and as an admin, generated path
parameters (huge, negative, zero, text, NUL), query strings and bodies. Field names
come from the route's pydantic models in web/schemas.py, plus random extra keys; values
are of random types and sizes. Deterministic (derandomize) and in-process.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from tests.helpers import PASSWORD, login, make_user
from web import schemas, schemas_access
from web import schemas_chat as chat_schemas
from web import schemas_dial_campaigns as dial_schemas
from web import schemas_orders as order_schemas
from web import schemas_scheduled_calls as scheduled_schemas
from web import schemas_second_factor as sf_schemas
from web import schemas_sms_campaigns as campaign_schemas
from web import schemas_sms_list as sms_schemas
from web import schemas_telephony as telephony
from web.app import create_app
from web.schemas_mail import (
    MailCardQuery,
    MailComposeQuery,
    MailFileForm,
    MailFileNewForm,
    MailMessageQuery,
    MailSendForm,
)
from web.schemas_mailboxes import MailboxEnabledForm, MailboxForm
from web.schemas_shop_orders import ShopOrderListQuery, ShopSourceForm
from web.schemas_sms_chat import SmsEmailForm, SmsOptOutForm, SmsReadForm, SmsSendForm
from web.schemas_sms_webhooks import SmsWebhookIn
from web.views.audit import AuditListQuery

# Per route, method and role: under a minute for the whole module. PBXCRM_FUZZ_EXAMPLES=200 digs deeper.
EXAMPLES = int(os.environ.get("PBXCRM_FUZZ_EXAMPLES", "12"))
# Streams that never end (server-sent events): not a request/response route.
SKIP = {("GET", "/events"), ("GET", "/wallboard/events"), ("POST", "/logout"),
        ("GET", "/counterparties/{id:int}/sms/events"), ("GET", "/mail/{id:int}/events"),
        ("GET", "/chats/events"), ("GET", "/chats/{id:int}/events")}  # issue 23: the e-mail and web chat streams

# The models each route reads, so the generated bodies and query strings use its field names.
QUERY_MODELS = {
    "/clients": [schemas.CounterpartyListQuery], "/companies": [schemas.CounterpartyListQuery],
    "/api/clients": [schemas.CounterpartyListQuery], "/api/companies": [schemas.CounterpartyListQuery],
    "/clients.xlsx": [schemas.CounterpartyListQuery], "/companies.xlsx": [schemas.CounterpartyListQuery],
    "/tasks": [schemas.TaskListQuery], "/tasks.xlsx": [schemas.TaskListQuery], "/tasks/new": [schemas.NewTaskQuery],
    "/counterparties/{id:int}": [schemas.CardQuery], "/counterparties/new": [schemas.NewCounterpartyQuery],
    "/reports/calls": [schemas.CallsReportQuery], "/api/reports/calls": [schemas.CallsReportQuery],
    "/admin/dial-rules": [telephony.DialRuleTryQuery], "/api/pop-scripts": [schemas.PopScriptQuery],
    "/reports/calls.xlsx": [schemas.CallsReportQuery], "/reports/deals": [schemas.DealsReportQuery],
    "/reports/deals.xlsx": [schemas.DealsReportQuery], "/calls.xlsx": [schemas.CallListQuery],
    "/calls": [schemas.CallListQuery], "/api/calls": [schemas.CallListQuery],
    "/reports/lines": [schemas.PeriodQuery, schemas.TagFilterQuery],
    "/api/reports/lines": [schemas.PeriodQuery, schemas.TagFilterQuery],
    "/reports/lines.xlsx": [schemas.PeriodQuery, schemas.TagFilterQuery],
    "/reports/queues": [schemas.PeriodQuery, schemas.TagFilterQuery],
    "/api/reports/queues": [schemas.PeriodQuery, schemas.TagFilterQuery],
    "/reports/queues.xlsx": [schemas.PeriodQuery, schemas.TagFilterQuery],
    "/reports/agents": [schemas.PeriodQuery], "/api/reports/agents": [schemas.PeriodQuery],
    "/reports/agents.xlsx": [schemas.PeriodQuery],
    "/admin/audit": [AuditListQuery], "/admin/audit.json": [AuditListQuery], "/admin/audit.xlsx": [AuditListQuery],
    "/api/counterparties/find": [schemas.CounterpartyFindQuery],  # issue 20: the task form's counterparty search
    # Issue 21: the SMS list.
    "/sms": [sms_schemas.SmsListQuery], "/api/sms": [sms_schemas.SmsListQuery], "/sms.xlsx": [sms_schemas.SmsListQuery],
    # Issue 21: SMS campaigns.
    "/sms/campaigns": [schemas.PageQuery], "/sms/campaigns/{id:int}": [schemas.PageQuery],
    "/api/sms/campaigns/preview": [campaign_schemas.PreviewQuery],
    "/orders": [schemas.PageQuery], "/orders/{id:int}": [schemas.PageQuery],  # issue 22: orders
    "/shop-orders": [ShopOrderListQuery], "/shop-orders.xlsx": [ShopOrderListQuery],  # issue 24: shop orders
    "/shop-orders/1c/{key}/exchange": [],
    "/dial-campaigns": [schemas.PageQuery], "/api/dial-campaigns": [schemas.PageQuery],  # issue 22
    "/scheduled-calls": [scheduled_schemas.ScheduledCallForm, schemas.PageQuery],  # issue 22
    # Issue 23: e-mail on the card, a message and its body, writing one, the unfiled inbox, the report.
    "/counterparties/{id:int}/mail": [MailCardQuery], "/mail/{id:int}": [MailMessageQuery],
    "/mail/{id:int}/body": [MailMessageQuery], "/counterparties/{id:int}/mail/new": [MailComposeQuery],
    "/mail/unfiled": [schemas.PageQuery], "/reports/mail": [schemas.PeriodQuery],
    "/api/reports/mail": [schemas.PeriodQuery],
    # Issue 23: the web chat's list and report.
    "/chats": [chat_schemas.ChatListQuery], "/reports/chats": [schemas.PeriodQuery],
    "/api/reports/chats": [schemas.PeriodQuery],
}
BODY_MODELS = {
    # Issue 21: the card's SMS chat, its do-not-text switch and read marks; the account's SMS e-mail switch.
    "/counterparties/{id:int}/sms": [SmsSendForm], "/api/counterparties/{id:int}/sms": [SmsSendForm],
    "/counterparties/{id:int}/sms/opt-out": [SmsOptOutForm], "/counterparties/{id:int}/sms/read": [SmsReadForm],
    "/account/sms": [SmsEmailForm],
    "/api/counterparties": [schemas.CounterpartyIn], "/api/counterparties/{id:int}": [schemas.CounterpartyFields],
    "/api/counterparties/{id:int}/contacts": [schemas.ContactIn], "/api/contacts/{contact_id:int}": [schemas.ContactIn],
    "/counterparties/{id:int}/contacts/{contact_id:int}": [schemas.ContactIn], "/api/users": [schemas.UserIn],
    "/api/calls": [schemas.ClickToCallIn], "/api/calls/{id:int}/counterparty": [schemas.AttachIn],
    "/calls/{id:int}/supervise": [schemas.SuperviseIn], "/api/calls/{id:int}/supervise": [schemas.SuperviseIn],
    "/api/calls/channel/{channel}/counterparty": [schemas.AttachIn],
    "/api/calls/channel/{channel}/comment": [schemas.CallCommentIn],
    "/counterparties/new": [schemas.CounterpartyForm], "/counterparties/{id:int}/edit": [schemas.CounterpartyForm],
    "/counterparties/{id:int}/contacts": [schemas.ContactIn],
    "/counterparties/{id:int}/addresses": [schemas.AddressForm],
    "/counterparties/{id:int}/companies": [schemas.CompanyNameForm],
    "/counterparties/{id:int}/notes": [schemas.NoteForm], "/tasks/{id:int}/notes": [schemas.NoteForm],
    "/notes/{id:int}": [schemas.NoteForm],  # issue 20: a note changed from the timeline
    "/counterparties/{id:int}/tags": [schemas.SetTagForm], "/tasks/{id:int}/tags": [schemas.SetTagForm],
    "/tasks/new": [schemas.TaskForm], "/tasks/{id:int}": [schemas.TaskForm],
    "/admin/task-types": [schemas.TaskTypeForm], "/admin/tags": [schemas.TagForm],
    "/counterparties/{id:int}/tags/new": [schemas.TagForm], "/filters": [schemas.FilterForm],
    "/admin/users": [schemas.UserForm], "/admin/users/{id:int}": [schemas.UserChangeForm],
    "/admin/settings": [schemas.SectionNamesForm], "/admin/settings/export": [schemas.ExportRolesForm],
    "/admin/settings/recording": [schemas.RecordingForm], "/admin/queues": [telephony.QueueForm],
    "/admin/settings/dialing": [schemas.DialPrefixForm], "/account": [schemas.AccountForm],
    "/admin/settings/retention": [schemas.RetentionForm],  # issue 25
    "/admin/call-scripts/{target}/{id:int}": [schemas.CallScriptForm],
    "/admin/queues/{id:int}": [telephony.QueueForm], "/admin/routing": [telephony.RoutingForm],
    "/admin/dial-rules": [telephony.DialRuleForm], "/admin/dial-rules/{id:int}": [telephony.DialRuleForm],
    "/account/follow-me": [schemas.FollowMeForm],
    "/account/phone": [schemas.PhoneModeForm],
    "/import": [schemas.ImportForm], "/api/users/{id:int}/password": [schemas.PasswordIn],
    "/admin/lines": [telephony.LineForm], "/admin/lines/{id:int}": [telephony.LineForm],
    "/admin/allowlist": [schemas_access.AllowEntryForm], "/admin/locks/lift": [schemas_access.LockLiftForm],
    # Issue 17's second factor.
    "/login/second-factor": [sf_schemas.CodeForm], "/login/second-factor/enrol": [sf_schemas.CodeForm],
    "/account/second-factor/confirm": [sf_schemas.CodeForm],
    "/account/second-factor/recovery-codes": [sf_schemas.CodeForm],
    "/account/second-factor/disable": [sf_schemas.DisableForm], "/admin/second-factor/roles": [sf_schemas.RolesForm],
    "/agent": [telephony.AgentIn], "/api/agent": [telephony.AgentIn],
    "/admin/pause-reasons": [telephony.PauseReasonForm], "/admin/pause-reasons/{id:int}": [telephony.PauseReasonForm],
    "/admin/pause-reasons/{id:int}/move": [schemas.MoveForm],
    "/admin/call-rules": [telephony.CallRuleForm], "/admin/call-rules/{id:int}": [telephony.CallRuleForm],
    "/admin/call-rules/{id:int}/move": [telephony.CallRuleMoveForm],
    # Issue 20: the admin's counterparty statuses.
    "/admin/statuses": [schemas.StatusForm], "/admin/statuses/{id:int}": [schemas.StatusForm],
    "/admin/statuses/{id:int}/archive": [schemas.StatusArchiveForm],
    "/admin/statuses/{id:int}/move": [schemas.MoveForm],
    # Issue 21: attaching an SMS from an unknown number; the admin's gateways and sending numbers.
    "/sms/{id:int}/attach": [sms_schemas.SmsAttachIn], "/api/sms/{id:int}/counterparty": [sms_schemas.SmsAttachIn],
    "/sms/{id:int}/attach-new": [sms_schemas.SmsAttachNewForm],
    "/admin/sms-gateways": [sms_schemas.SmsGatewayForm], "/admin/sms-gateways/{id:int}": [sms_schemas.SmsGatewayForm],
    "/admin/sms-gateways/{id:int}/active": [sms_schemas.SmsGatewayActiveForm],
    "/admin/sms-gateways/numbers": [sms_schemas.SmsNumberForm],
    "/admin/sms-gateways/numbers/delete": [sms_schemas.SmsNumberDeleteForm],
    # Issue 21: an HTTP SMS provider's signed webhook (no login, no CSRF: its signature).
    "/sms/webhooks/{gateway_id:int}": [SmsWebhookIn],
    "/sms/campaigns": [campaign_schemas.CampaignForm], "/sms/campaigns/{id:int}": [campaign_schemas.CampaignForm],
    # Issue 22: orders and their customers.
    "/orders": [order_schemas.OrderForm], "/orders/{id:int}": [order_schemas.OrderForm],
    "/orders/{id:int}/rows/{row_id:int}/sms": [order_schemas.OrderSmsForm],
    "/admin/customers": [order_schemas.CustomerForm], "/admin/customers/{id:int}": [order_schemas.CustomerForm],
    "/admin/customers/private-urls": [order_schemas.PrivateUrlsForm],
    # Issue 24: shop sources (the shops' own paths read raw bodies: the generic ones fit).
    "/admin/shop-sources": [ShopSourceForm], "/admin/shop-sources/{id:int}": [ShopSourceForm],
    # Issue 22: dial campaigns.
    "/dial-campaigns": [dial_schemas.DialCampaignForm], "/dial-campaigns/{id:int}": [dial_schemas.DialCampaignForm],
    # Issue 23: a reply or new e-mail from the card; filing an unfiled one.
    "/counterparties/{id:int}/mail": [MailSendForm], "/mail/{id:int}/file": [MailFileForm],
    "/mail/{id:int}/file-new": [MailFileNewForm],
    # Issue 23: the web chat's operator side and its sites.
    "/chats/{id:int}/messages": [chat_schemas.ChatSendForm], "/chats/{id:int}/attach": [chat_schemas.ChatAttachForm],
    "/admin/chat-sites": [chat_schemas.ChatSiteForm], "/admin/chat-sites/{id:int}": [chat_schemas.ChatSiteForm],
    # Issue 23: the mailboxes the e-mail poller reads.
    "/admin/mailboxes": [MailboxForm], "/admin/mailboxes/{id:int}": [MailboxForm],
    "/admin/mailboxes/{id:int}/enabled": [MailboxEnabledForm],
}


def _names(models) -> list[str]:
    return sorted({(f.alias or name) for m in models for name, f in m.model_fields.items()})


ALL_QUERY_NAMES = _names({m for ms in QUERY_MODELS.values() for m in ms})
ALL_BODY_NAMES = _names({m for ms in BODY_MODELS.values() for m in ms})

HOSTILE_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "9" * 25, str(2**63), str(2**63 - 1), "-1", "0", "1", "2", "3", "1.5", "1e309",
    "²", "٣", "NaN", "9999-12-30", "9999-12-31", "0001-01-01", "2024-02-30", "2024-01-15", "25:61", "10:30",
    "true", "on", "client", "company", "active", "admin", "operator", "manager", "desc", "hour", "month",
    "+7 495 123-45-67", "8 (909) 632-02-28", "a@b.ru", "Иванов Пётр", "x" * 5000, "й" * 1200, "<script>",
    "' OR 1=1 --", "%00", "\ud7ff\ue000", "😀" * 50, "\r\n", "clients", "tasks", "type", "operator",
])
# Long texts: a random piece repeated to 300-3000 characters. Drawn a character at a time (st.text with
# min_size=300), they took more than half the fuzz's time for nothing a long field's handling depends on.
LONG_TEXT = st.builds(lambda piece, length: (piece * (length // len(piece) + 1))[:length],
                      st.text(min_size=1, max_size=40), st.integers(min_value=300, max_value=3000))
TEXT = st.one_of(HOSTILE_TEXT, st.text(max_size=40), LONG_TEXT)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                        st.sampled_from([0, 1, 2, 3, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]),
                        st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON_VALUE = st.recursive(JSON_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["kind", "value", "note", "a"]) | st.text(max_size=8),
                                                 inner, max_size=4)), max_leaves=12)
PATH_INT = st.one_of(st.sampled_from(["0", "1", "2", "3", "4", "-1", "9" * 18, str(2**63 - 1), str(2**63), "9" * 40,
                                      "abc", "1.0", "%00", "%C2%B2", "1%00"]),
                     st.integers(min_value=0, max_value=10**6).map(str))
PATH_TEXT = st.one_of(st.sampled_from(["ch-1", "x", "%00", "a%00b", "x" * 300, "%D0%B9", "..", "1"]),
                      st.text(max_size=30).map(lambda s: urllib.parse.quote(s, safe="")))


def _routes(app) -> list[tuple[str, str]]:
    out = []

    def walk(routes, prefix=""):
        for route in routes:
            if isinstance(route, Mount):
                if route.path != "/static":
                    walk(route.routes, prefix + route.path)
            elif isinstance(route, Route):
                for method in sorted(route.methods - {"HEAD"}):
                    if (method, prefix + route.path) not in SKIP:
                        out.append((method, prefix + route.path))

    walk(app.routes)
    return out


def _fields(names: list[str]):
    """Some of the route's field names, and random extra ones."""
    return st.lists(st.one_of(st.sampled_from(names), st.text(max_size=12)), max_size=8, unique=True) \
        if names else st.lists(st.text(max_size=12), max_size=3)


@st.composite
def requests(draw, method: str, path: str):
    concrete = re.sub(r"\{(\w+):int\}", lambda m: draw(PATH_INT), path)
    concrete = re.sub(r"\{(\w+)\}", lambda m: draw(PATH_TEXT), concrete)
    names = _names(QUERY_MODELS.get(path, [])) or ALL_QUERY_NAMES
    query = [(k, draw(TEXT)) for k in draw(_fields(names)) for _ in range(draw(st.integers(1, 2)))]
    while len(urllib.parse.urlencode(query)) > 60_000:
        query.pop()  # the test client refuses a query past 64 KiB (browsers and servers refuse less)
    request = {"method": method, "url": concrete, "params": query}
    if method in ("POST", "PATCH", "PUT", "DELETE"):
        names = _names(BODY_MODELS.get(path, [])) or ALL_BODY_NAMES
        kind = draw(st.sampled_from(["json", "form", "form", "multipart", "raw"]))
        keys = draw(_fields(names))
        if kind == "json":
            request["json"] = draw(st.one_of(st.fixed_dictionaries({k: JSON_VALUE for k in keys}), JSON_VALUE))
        elif kind == "form":
            request["data"] = {k: draw(st.lists(TEXT, min_size=1, max_size=3)) for k in keys}
        elif kind == "multipart":
            request["data"] = {k: draw(TEXT) for k in keys}
            request["files"] = {draw(st.sampled_from(["file", "comment", "x"])): (
                draw(st.sampled_from(["a.xlsx", "a\x00.xlsx", "", "x" * 300])), draw(st.binary(max_size=2000)))}
        else:
            request["content"] = draw(st.sampled_from([b"{not json", b"[]", b"5", b"null", b'{"a":', b"\xff\xfe",
                                                        b'{"number": "1"}' * 3, b""]))
            request["headers"] = {"content-type": draw(st.sampled_from(
                ["application/json", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]))}
    return request


def _send(client: TestClient, request: dict):
    req = dict(request)
    headers = {"x-csrf-token": client.cookies.get("pbxcrm_csrf", ""), **req.pop("headers", {})}
    if "data" in req and "files" not in req:
        # Repeated keys as a urlencoded body: the form a browser sends.
        pairs = [(k, v) for k, vs in req.pop("data").items() for v in (vs if isinstance(vs, list) else [vs])]
        req["content"] = urllib.parse.urlencode(pairs).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    return client.request(headers=headers, follow_redirects=False, **req)


@pytest.fixture
async def seeded(db, tmp_path):
    """Two users to log in as (ids far from the small ones the fuzz tries), and a little of everything."""
    async with db.acquire() as conn:
        await conn.execute("SELECT setval('users_id_seq', 5000)")
    users = {"operator": await make_user(db, "fuzz-op", "operator", extension="301"),
             "admin": await make_user(db, "fuzz-admin", "admin", extension="302")}
    for i, role in enumerate(("manager", "supervisor", "operator")):
        await make_user(db, f"user{i}", role, extension=f"40{i}")
    recording = tmp_path / "r.mp3"
    recording.write_bytes(b"ID3" + b"\0" * 100)
    async with db.acquire() as conn:
        await conn.execute("""
            INSERT INTO counterparties (kind, last_name, first_name, responsible_user_id) VALUES ('client', 'Sokolov', 'Ivan', 5001);
            INSERT INTO counterparties (kind, company_name) VALUES ('company', 'Romashka');
            INSERT INTO contacts (counterparty_id, kind, value, normalized) VALUES (1, 'phone', '+7 495 123-45-67', '+74951234567');
            INSERT INTO addresses (counterparty_id, address) VALUES (1, 'Moscow');
            INSERT INTO company_members (company_id, client_id) VALUES (2, 1);
            INSERT INTO tags (name) VALUES ('vip');
            INSERT INTO notes (counterparty_id, author_user_id, body) VALUES (1, 5001, 'a note');
            INSERT INTO calls (channel_id, direction, caller_number, started_at, counterparty_id, operator_user_id, status)
                VALUES ('ch-1', 'incoming', '+74951234567', now(), 1, 5001, 'answered');
            INSERT INTO sms_gateways (name, kind) VALUES ('gw', 'smpp');
            INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ('+74950000000', 1, true);
            INSERT INTO sms_messages (direction, phone, body, status) VALUES ('in', '+79160000000', 'hi', 'received');
            INSERT INTO sms_campaigns (name, body, author_id) VALUES ('c1', 'Hi {name}', 5001);
            INSERT INTO sms_campaign_recipients (campaign_id, counterparty_id, phone, status)
                VALUES (1, 1, '+74951234567', 'pending');
            -- issue 22: a running preview campaign both users work, a number offered, a do-not-call entry
            INSERT INTO dial_campaigns (name, mode, status, author_id) VALUES ('d1', 'preview', 'running', 5002);
            INSERT INTO dial_campaign_agents (campaign_id, user_id) VALUES (1, 5001), (1, 5002);
            INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, status, offered_to)
                VALUES (1, '+74951234567', '+74951234567', 'dialing', 5001);
            INSERT INTO dial_attempts (campaign_id, number_id, agent_user_id) VALUES (1, 1, 5001);
            INSERT INTO dnc_numbers (number) VALUES ('+74957654321');
            INSERT INTO scheduled_calls (user_id, number, due_at, counterparty_id)
                VALUES (5001, '+74951234567', now() + interval '1 day', 1);
            INSERT INTO customers (name) VALUES ('Romashka');
            INSERT INTO mailboxes (name, address, imap_host, imap_user) VALUES ('Sales', 'sales@x.test', 'h', 'u');
            INSERT INTO orders (customer_id, name, script) VALUES (1, 'Survey', 'Hello');
            INSERT INTO order_rows (order_id, row_key, phone, phone_normalized, name)
                VALUES (1, '+74951234567', '+7 495 123-45-67', '+74951234567', 'Sokolov');
            -- issue 23: a mailbox, a thread on the client's card with an inline image, a message on no card
            INSERT INTO contacts (counterparty_id, kind, value, normalized) VALUES (1, 'email', 'ivan@mail.ru', 'ivan@mail.ru');
            INSERT INTO mailboxes (name, address, imap_host, imap_user) VALUES ('Support', 'support@crm.example', 'h', 'u');
            INSERT INTO mail_messages (direction, mailbox_id, message_id, thread_id, from_address, subject, body_html, status)
                VALUES ('in', 1, 'm1@x', 1, 'ivan@mail.ru', 'Hi', '<p>hi<img src="cid:i1"></p>', 'filed'),
                       ('in', 1, 'm2@x', 2, 'new@firm.ru', 'Q', '', 'unfiled');
            INSERT INTO mail_message_cards (message_id, counterparty_id, address) VALUES (1, 1, 'ivan@mail.ru');
            INSERT INTO mail_attachments (message_id, filename, content_type, content_id, content)
                VALUES (1, 'i.png', 'image/png', 'i1', '\x89504e47');
            -- issue 23: a chat site, a visitor waiting in a chat, and a chat the operator has taken
            INSERT INTO chat_sites (name, public_key, allowed_origins, identity_secret)
                VALUES ('Shop', 'fuzz-site-key-0000000', '{https://shop.example.com}', repeat('s', 64));
            INSERT INTO chat_visitors (site_id, token_hash) VALUES (1, decode('00', 'hex')), (1, decode('01', 'hex'));
            INSERT INTO chat_conversations (site_id, visitor_id, status, page_url) VALUES (1, 1, 'waiting', 'https://shop.example.com/');
            INSERT INTO chat_conversations (site_id, visitor_id, status, operator_user_id, accepted_at)
                VALUES (1, 2, 'active', 5001, now());
            INSERT INTO chat_messages (conversation_id, sender, body) VALUES (1, 'visitor', 'hello'), (2, 'visitor', 'hi');
            -- issue 24: a shop's webhook and 1C exchange (their keys are what the fuzz's paths try), an order
            INSERT INTO shop_sources (name, kind, key, login, secret, url)
                VALUES ('Lavka', 'webhook', 'ch-1ch-1ch-1ch-1', '', 's', ''),
                       ('Lavka 1C', 'commerceml', 'xxxxxxxxxxxxxxxx', 'x', 'x', '');
            INSERT INTO shop_orders (source_id, external_id, number, status, total, phone, phone_normalized,
                                     counterparty_id)
                VALUES (1, '1', '1', 'processing', 10, '+74951234567', '+74951234567', 1);
            INSERT INTO shop_order_lines (shop_order_id, position, name) VALUES (1, 1, 'Plaid');
            -- issue 26: two PBX nodes, one up, one down (the nodes page and the wallboard's banner)
            INSERT INTO pbx_nodes (name, ari_url, connected, up_since, down_since, calls_now)
                VALUES ('a', 'http://a:8088', true, now(), NULL, 2), ('b', '', false, NULL, now(), 0);""")
        await conn.execute("INSERT INTO recordings (call_id, path, format) VALUES (1, $1, 'mp3')", str(recording))
        type_id = await conn.fetchval("SELECT id FROM task_types ORDER BY id LIMIT 1")
        await conn.execute("INSERT INTO tasks (title, type_id, responsible_user_id) VALUES ('Call back', $1, 5001)",
                           type_id)
    return users


def _logged_in(client: TestClient, login_name: str) -> None:
    r = client.get("/api/calls")
    if r.status_code != 200:
        client.cookies.clear()
        assert login(client, login_name, PASSWORD).status_code == 303


# The routes are fuzzed in shards, each a test of its own with its own time limit, which the two
# workers of `make test` share (tests/conftest.py's scheduler spreads this module's tests one by one).
SHARDS = 4


@pytest.mark.timeout(int(os.environ.get("PBXCRM_FUZZ_TIMEOUT", "400")))
@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("role", ["operator", "admin"])
async def test_no_route_answers_500_to_random_input(settings: object, seeded, role: str, shard: int):
    failures: list[str] = []
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        login_name = seeded[role]["login"]
        _logged_in(client, login_name)
        every_route = _routes(app)
        assert len(every_route) >= 60
        routes = every_route[shard::SHARDS]
        for method, path in routes:
            _logged_in(client, login_name)
            examples = 4 if (method, path) == ("POST", "/login") else EXAMPLES

            @settings_for(examples)
            @given(request=requests(method, path))
            def fuzz(request):
                r = _send(client, request)
                assert r.status_code < 500, (
                    f"{role}: {request['method']} {request['url']} -> {r.status_code}\n"  # noqa: B023 (run now)
                    f"request: {json.dumps(request, default=repr)[:1500]}\nresponse: {r.text[:300]}")

            try:
                fuzz()
            except AssertionError as e:
                failures.append(str(e))
    assert not failures, "\n\n".join(failures)


def settings_for(examples: int):
    return hsettings(max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))
