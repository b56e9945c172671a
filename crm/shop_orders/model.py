"""A shop order as a source delivers it (issue 24, K1), and the pure rules over it: whether it is still
open, its digest (an unchanged re-send changes nothing), how its buyer is matched to a card, how values
written by shops are read (sums with commas, "да"/"true"), and when a confirmation task is due.

Every parser (crm/shop_orders/commerceml.py, woocommerce.py, feed.py) makes `Incoming` orders; the
store (crm/shop_orders/store.py) writes them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from crm.i18n import _
from crm.phones import InvalidPhone, normalize_phone

# WooCommerce's final statuses, and the words 1C and Russian shops use for a finished order.
_CLOSED_CODES = {"completed", "cancelled", "canceled", "refunded", "failed", "trash"}
# Words, not whole statuses: shops word them freely ("[F] Выполнен"). Not "получен": "Ожидает получения"
# is an order still waiting for its buyer.
_CLOSED_WORDS = ("выполнен", "завершен", "завершён", "отменен", "отменён", "доставлен", "возврат", "закрыт", "архив",
                 "отказ")
_TRUE = {"true", "1", "yes", "да", "y", "истина"}
SOURCE_KINDS = ("commerceml", "webhook", "feed")


@dataclass(frozen=True)
class Line:
    name: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    total: Decimal | None = None
    sku: str = ""


@dataclass(frozen=True)
class Incoming:
    """One order as its source said it; `problem`: what could not be read (the order is kept anyway)."""
    external_id: str
    number: str = ""
    status: str = ""
    total: Decimal | None = None
    currency: str = ""
    paid: bool = False
    paid_at: dt.datetime | None = None
    cancelled: bool = False
    ordered_at: dt.datetime | None = None
    modified_at: dt.datetime | None = None  # the shop's time of its last change, when it says
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    lines: tuple[Line, ...] = field(default_factory=tuple)
    problem: str = ""

    @property
    def customer_name(self) -> str:
        return " ".join(f"{self.last_name} {self.first_name}".split())


def text(value, limit: int = 1000) -> str:
    if value is None:
        return ""
    # Lone surrogates ("\ud800" is valid JSON) cannot be encoded, hashed or stored: dropped.
    clean = str(value).encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return " ".join(clean.split())[:limit]


def money(value) -> Decimal | None:
    """A sum as shops write it ("1 500,00", "1500.00", 1500); None when it is none."""
    if value is None or value == "":
        return None
    raw = str(value).replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValueError(_("%(value)s is not a number") % {"value": repr(str(value)[:40])}) from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 13:
        raise ValueError(_("%(value)s is not a number") % {"value": repr(str(value)[:40])})
    return number


def flag(value) -> bool:
    return text(value).casefold() in _TRUE


def is_open(status: str, cancelled: bool) -> bool:
    """Not finished, cancelled, refunded or failed: a call from its number is about it."""
    if cancelled:
        return False
    word = status.casefold().strip()
    return word not in _CLOSED_CODES and not any(w in word for w in _CLOSED_WORDS)


def digest(order: Incoming) -> str:
    """The order's content as a digest: the same order sent again has the same one."""
    data = json.dumps(asdict(order), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def read_phone(raw: str, region: str) -> tuple[str | None, str]:
    """(E.164 or None, the problem in words) for the buyer's phone; no phone is no problem."""
    if not raw.strip():
        return None, ""
    try:
        return normalize_phone(raw, region), ""
    except InvalidPhone as e:
        return None, _("the phone %(phone)s cannot be read: %(why)s") % {"phone": raw[:60], "why": str(e)}


CardRef = Hashable  # a card's id, or the store's mark for a card it is about to make


@dataclass(frozen=True)
class Match:
    """Which card the order goes on, and what it learns. counterparty_id None with create: a new card."""
    counterparty_id: Any
    create: bool
    learn_phone: bool
    learn_email: bool


def match(*, phone: str | None, email: str, phone_owner: CardRef | None, email_owner: CardRef | None,
          current: CardRef | None = None) -> Match:
    """The card for an order's buyer (pure): the card it is on already (a re-sent order stays where it
    is), else the one with its phone, else the one with its e-mail, else a new one. The card learns the
    phone or e-mail nobody has yet."""
    card = current or phone_owner or email_owner
    return Match(counterparty_id=card, create=card is None,
                 learn_phone=bool(phone) and phone_owner is None,
                 learn_email=bool(email) and email_owner is None)


def new_card_name(order: Incoming) -> tuple[str, str]:
    """(last name, first name) for the buyer's new card: a client needs one of them."""
    last, first = text(order.last_name, 200), text(order.first_name, 200)
    if last or first:
        return last, first
    fallback = order.phone or order.email or (_("Order %(number)s") % {"number": order.number or order.external_id})
    return "", text(fallback, 200)


def task_deadline(now: dt.datetime, minutes: int, zone) -> tuple[dt.date, dt.time]:
    """The confirmation task's deadline on the call centre's clock (a task's date and time)."""
    local = (now + dt.timedelta(minutes=minutes)).astimezone(zone)
    return local.date(), local.time().replace(second=0, microsecond=0, tzinfo=None)
