"""Orders in CommerceML 2 (issue 24, K1): the XML a shop's 1C exchange uploads (mode=file, then
mode=import) or the CRM pulls from the shop, read with a streaming parser (lxml iterparse: each
Документ is read, turned into an `Incoming` order and dropped), in the encoding the file declares
(windows-1251 is common in 1C's files).

Refused with a clear SourceError, nothing half-read: a file with a DTD (entity expansion, the "billion
laughs" bomb: refused at its first element, before any entity is looked at; entities are never resolved
and nothing is fetched from the network), bytes that are not in the declared encoding, an unknown
encoding, XML that is not well formed, a root that is not КоммерческаяИнформация.

A Документ with ХозОперация other than "Заказ товара" is skipped; one without Ид is counted as skipped
with its problem. A value that cannot be read (a sum, a date) is the order's problem; the order is kept.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass, field

from lxml import etree

from crm.i18n import _
from crm.orders.sources import SourceError
from crm.shop_orders.model import Incoming, Line, flag, money, text

ROOT = "КоммерческаяИнформация"
ORDER_OPERATION = "заказ товара"
_PAID = ("оплачен", "заказ оплачен")
_PAID_AT = ("дата оплаты",)
_CANCELLED = ("отменен", "отменён", "заказ отменен", "заказ отменён")
_STATUS = ("статус заказа", "статус")


@dataclass
class Parsed:
    orders: list[Incoming] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _name(el) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _child(el, name: str):
    for kid in el:
        if _name(kid) == name:
            return kid
    return None


def _children(el, name: str) -> list:
    return [kid for kid in el if _name(kid) == name] if el is not None else []


def _text(el, name: str, limit: int = 1000) -> str:
    kid = _child(el, name) if el is not None else None
    return text(kid.text if kid is not None else "", limit)


def _when(value: str, zone: dt.tzinfo) -> dt.datetime | None:
    """A 1C date and time ("2024-01-15T10:00:00", "2024-01-15 10:00", "15.01.2024 10:00:00") on the shop's
    clock (the call centre's); ValueError when it is none of these."""
    value = value.strip()
    if not value:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
                    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, pattern).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ValueError(_("%(value)s is not a date") % {"value": repr(value[:40])})


def _contacts(party) -> tuple[str, str]:
    """(phone, e-mail) from Контакты/Контакт or КонтактнаяИнформация, whichever the shop writes."""
    phone = email = ""
    holders = _children(party, "Контакты") + _children(party, "КонтактнаяИнформация")
    for holder in holders:
        for contact in holder:
            kind = _text(contact, "Тип").casefold() or _text(contact, "Вид").casefold()
            value = _text(contact, "Значение", 300) or _text(contact, "Представление", 300)
            if not value:
                continue
            if "телефон" in kind or "phone" in kind:
                phone = phone or value
            elif "почт" in kind or "mail" in kind:
                email = email or value
    return phone, email


def _address(party) -> str:
    for name in ("АдресРегистрации", "Адрес", "ЮридическийАдрес"):
        holder = _child(party, name)
        if holder is not None:
            shown = _text(holder, "Представление", 1000)
            if shown:
                return shown
    return ""


def _buyer(document) -> dict:
    parties = _children(_child(document, "Контрагенты"), "Контрагент")
    buyers = [p for p in parties if _text(p, "Роль").casefold() in ("покупатель", "")] or parties
    if not buyers:
        return {}
    party = buyers[0]
    last, first = _text(party, "Фамилия", 200), _text(party, "Имя", 200)
    if not (last or first):
        last = _text(party, "ПолноеНаименование", 200) or _text(party, "Наименование", 200)
    phone, email = _contacts(party)
    return {"last_name": last, "first_name": first, "phone": phone, "email": email, "address": _address(party)}


def _requisites(document) -> dict[str, str]:
    values: dict[str, str] = {}
    for holder in _children(document, "ЗначенияРеквизитов"):
        for item in holder:
            name = _text(item, "Наименование", 200).casefold()
            if name and name not in values:
                values[name] = _text(item, "Значение", 500)
    return values


def _first(values: dict[str, str], names) -> str:
    for name in names:
        if values.get(name):
            return values[name]
    return ""


def document_order(document, zone: dt.tzinfo) -> Incoming:
    """One Документ as an order; what cannot be read goes to its problem."""
    problems: list[str] = []

    def read(reader, value, default=None):
        try:
            return reader(value)
        except ValueError as e:
            problems.append(str(e))
            return default

    lines = []
    for goods in _children(_child(document, "Товары"), "Товар"):
        lines.append(Line(name=_text(goods, "Наименование", 500), sku=_text(goods, "Артикул", 100),
                          quantity=read(money, _text(goods, "Количество")),
                          price=read(money, _text(goods, "ЦенаЗаЕдиницу")), total=read(money, _text(goods, "Сумма"))))
    requisites = _requisites(document)
    day = _text(document, "Дата")
    hour = _text(document, "Время")
    ordered_at = read(lambda v: _when(v, zone), f"{day} {hour}".strip() if day and hour else day)
    return Incoming(
        external_id=_text(document, "Ид", 200), number=_text(document, "Номер", 100),
        status=_first(requisites, _STATUS)[:200], total=read(money, _text(document, "Сумма")),
        currency=_text(document, "Валюта", 20), paid=flag(_first(requisites, _PAID)),
        paid_at=read(lambda v: _when(v, zone), _first(requisites, _PAID_AT)),
        cancelled=flag(_first(requisites, _CANCELLED)), ordered_at=ordered_at, **_buyer(document),
        lines=tuple(lines[:1000]), problem="; ".join(problems)[:1000])


def parse(body: bytes, *, timezone: str = "UTC") -> Parsed:
    """The file's orders; SourceError when the file itself cannot be read (nothing of it is used)."""
    zone = zoneinfo.ZoneInfo(timezone)
    out = Parsed()
    if not body.strip():
        raise SourceError(_("the file is empty"))
    events = etree.iterparse(io.BytesIO(body), events=("start", "end"), resolve_entities=False, no_network=True,
                             huge_tree=False, load_dtd=False, remove_comments=True, remove_pis=True)
    depth = 0
    try:
        for event, el in events:
            if event == "start":
                if depth == 0:
                    if el.getroottree().docinfo.internalDTD is not None:
                        raise SourceError(_("the file declares a DTD (entities); such files are refused"))
                    if _name(el) != ROOT:
                        raise SourceError(_("this is not a CommerceML file (its root is %(name)s)")
                                          % {"name": _name(el)[:60]})
                depth += 1
                continue
            depth -= 1
            if _name(el) != "Документ":
                continue
            _take(el, zone, out)
            el.clear()
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as e:
        raise SourceError(_why_not_xml(e)) from None
    except LookupError as e:  # an encoding Python knows the name of but lxml cannot read
        raise SourceError(_("the file's encoding cannot be read (%(error)s)") % {"error": str(e)[:100]}) from None
    return out


def _take(document, zone: dt.tzinfo, out: Parsed) -> None:
    operation = _text(document, "ХозОперация").casefold()
    if operation and operation != ORDER_OPERATION:
        return
    order = document_order(document, zone)
    if not order.external_id:
        out.skipped.append(_("an order without Ид (number %(number)s) was skipped") % {"number": order.number or "?"})
        return
    out.orders.append(order)


def _why_not_xml(e: etree.XMLSyntaxError) -> str:
    message = str(e)
    if "encoding" in message.casefold() or "bytes" in message.casefold():
        return _("the file is not in the encoding it declares (%(error)s)") % {"error": message[:200]}
    if "entit" in message.casefold():
        return _("the file uses entities; such files are refused (%(error)s)") % {"error": message[:200]}
    return _("the file is not well-formed XML (%(error)s)") % {"error": message[:200]}
