"""Shop orders as shops send them (issue 24): a CommerceML 2 export as a Bitrix shop's 1C exchange writes
it (windows-1251), and a WooCommerce order webhook's JSON. Used by the tests and by `make bench`."""

from __future__ import annotations

import datetime as dt
import json
from xml.sax.saxutils import escape

from crm.shop_orders import sources as shop_sources
from crm.shop_orders.woocommerce import signature


def cml_document(n: int, *, status: str = "[N] Принят", paid: bool = False, phone: str | None = None,
                 email: str | None = None, last_name: str = "Иванов", first_name: str = "Пётр",
                 cancelled: bool = False) -> str:
    phone = phone if phone is not None else f"+7 (916) {n // 10000 % 1000:03d}-{n // 100 % 100:02d}-{n % 100:02d}"
    email = email if email is not None else f"buyer{n}@example.ru"
    contacts = "".join(f"<Контакт><Тип>{kind}</Тип><Значение>{escape(value)}</Значение></Контакт>"
                       for kind, value in (("Телефон рабочий", phone), ("Почта", email)) if value)
    return f"""  <Документ>
    <Ид>{n}</Ид>
    <Номер>{1000 + n}</Номер>
    <Дата>2026-11-30</Дата>
    <Время>12:{n % 60:02d}:00</Время>
    <ХозОперация>Заказ товара</ХозОперация>
    <Роль>Продавец</Роль>
    <Валюта>руб</Валюта>
    <Курс>1</Курс>
    <Сумма>2150.50</Сумма>
    <Контрагенты>
      <Контрагент>
        <Ид>c{n}</Ид>
        <Наименование>{escape(last_name)} {escape(first_name)}</Наименование>
        <Роль>Покупатель</Роль>
        <ПолноеНаименование>{escape(last_name)} {escape(first_name)}</ПолноеНаименование>
        <Фамилия>{escape(last_name)}</Фамилия>
        <Имя>{escape(first_name)}</Имя>
        <АдресРегистрации><Представление>Москва, ул. Тверская, д. {n}</Представление></АдресРегистрации>
        <Контакты>{contacts}</Контакты>
      </Контрагент>
    </Контрагенты>
    <Товары>
      <Товар><Ид>g1</Ид><Артикул>A-1</Артикул><Наименование>Чайник электрический</Наименование><ЦенаЗаЕдиницу>1500.00</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>1500.00</Сумма></Товар>
      <Товар><Ид>g2</Ид><Артикул>B-2</Артикул><Наименование>Кружка «Утро»</Наименование><ЦенаЗаЕдиницу>325,25</ЦенаЗаЕдиницу><Количество>2</Количество><Сумма>650,50</Сумма></Товар>
    </Товары>
    <ЗначенияРеквизитов>
      <ЗначениеРеквизита><Наименование>Статус заказа</Наименование><Значение>{escape(status)}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Заказ оплачен</Наименование><Значение>{"true" if paid else "false"}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата оплаты</Наименование><Значение>{"2026-11-30 13:00:00" if paid else ""}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Отменен</Наименование><Значение>{"true" if cancelled else "false"}</Значение></ЗначениеРеквизита>
    </ЗначенияРеквизитов>
  </Документ>
"""


def cml_file(documents: list[str], encoding: str = "windows-1251") -> bytes:
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n'
            '<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2026-11-30T14:00:00">\n'
            + "".join(documents) + "</КоммерческаяИнформация>\n")
    return text.encode(encoding)


def cml_orders(count: int, changed: frozenset[int] = frozenset()) -> bytes:
    """`count` orders; those in `changed` paid (a re-import's changes)."""
    return cml_file([cml_document(n, paid=n in changed, status="[P] Оплачен" if n in changed else "[N] Принят")
                     for n in range(1, count + 1)])


def woo_order(order_id: int = 727, *, status: str = "processing", phone: str = "+7 916 555-12-34",
              email: str = "anna.petrova@example.ru", total: str = "1299.00") -> dict:
    """An order as WooCommerce's webhook sends it (its REST API v3 shape, trimmed of what we do not read)."""
    return {
        "id": order_id, "parent_id": 0, "number": str(order_id), "order_key": "wc_order_58d2d042d1d", "created_via": "checkout",
        "version": "8.4.0", "status": status, "currency": "RUB", "date_created": "2026-11-30T15:10:00",
        "date_created_gmt": "2026-11-30T12:10:00", "date_modified_gmt": "2026-11-30T12:11:00",
        "discount_total": "0.00", "shipping_total": "300.00", "total": total, "total_tax": "0.00",
        "customer_id": 0, "payment_method": "cod", "payment_method_title": "Оплата при получении",
        "date_paid_gmt": None, "date_completed_gmt": None,
        "billing": {"first_name": "Анна", "last_name": "Петрова", "company": "", "address_1": "ул. Ленина, 5",
                    "address_2": "", "city": "Казань", "state": "", "postcode": "420000", "country": "RU",
                    "email": email, "phone": phone},
        "shipping": {"first_name": "Анна", "last_name": "Петрова", "address_1": "ул. Ленина, 5", "city": "Казань"},
        "line_items": [{"id": 315, "name": "Плед шерстяной", "product_id": 93, "variation_id": 0, "quantity": 1,
                        "tax_class": "", "subtotal": "999.00", "total": "999.00", "sku": "PLAID-1", "price": 999}],
    }


def woo_request(order: dict, secret: str, topic: str = "order.created") -> tuple[bytes, dict]:
    """The body and headers WooCommerce sends for this order."""
    body = json.dumps(order, ensure_ascii=False).encode()
    return body, {"content-type": "application/json", "x-wc-webhook-topic": topic,
                  "x-wc-webhook-resource": "order", "x-wc-webhook-event": topic.split(".")[1],
                  "x-wc-webhook-signature": signature(secret, body), "x-wc-webhook-id": "12",
                  "x-wc-webhook-delivery-id": "77", "x-wc-webhook-source": "https://shop.example.ru/"}


BOMB = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<\xd0\x9a\xd0\xbe\xd0\xbc\xd0\xbc\xd0\xb5\xd1\x80\xd1\x87\xd0\xb5\xd1\x81\xd0\xba\xd0\xb0\xd1\x8f\xd0\x98\xd0\xbd\xd1\x84\xd0\xbe\xd1\x80\xd0\xbc\xd0\xb0\xd1\x86\xd0\xb8\xd1\x8f><\xd0\x94\xd0\xbe\xd0\xba\xd1\x83\xd0\xbc\xd0\xb5\xd0\xbd\xd1\x82><\xd0\x98\xd0\xb4>&lol9;</\xd0\x98\xd0\xb4></\xd0\x94\xd0\xbe\xd0\xba\xd1\x83\xd0\xbc\xd0\xb5\xd0\xbd\xd1\x82></\xd0\x9a\xd0\xbe\xd0\xbc\xd0\xbc\xd0\xb5\xd1\x80\xd1\x87\xd0\xb5\xd1\x81\xd0\xba\xd0\xb0\xd1\x8f\xd0\x98\xd0\xbd\xd1\x84\xd0\xbe\xd1\x80\xd0\xbc\xd0\xb0\xd1\x86\xd0\xb8\xd1\x8f>
"""


NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


async def add_source(db, kind: str, **kw) -> dict:
    async with db.acquire() as conn:
        admin_id = await conn.fetchval("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")
        source_id = await shop_sources.save(conn, admin_id, None, shop_sources.SourceInput(
            name=kw.pop("name", f"{kind} shop"), kind=kind, **kw), NOW)
        return dict(await conn.fetchrow("SELECT * FROM shop_sources WHERE id = $1", source_id))


async def stored_orders(db) -> list[dict]:
    async with db.acquire() as conn:
        return [dict(r) for r in await conn.fetch("SELECT * FROM shop_orders ORDER BY id")]
