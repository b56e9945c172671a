"""Shop orders read from what shops send (issue 24, K1), without a database: CommerceML 2 (windows-1251, an
XML bomb, a wrong encoding), WooCommerce's signature and JSON, lists pulled from a URL, and the pure rules
(matching a buyer to a card, open or finished, a task's deadline)."""

import datetime as dt
import json
import time
import zoneinfo
from decimal import Decimal

import pytest

from crm.orders.sources import SourceError
from crm.shop_orders import commerceml, exchange, feed, woocommerce
from crm.shop_orders.model import Incoming, digest, is_open, match, money, new_card_name, read_phone, task_deadline
from tests.shop_orders_support import BOMB, cml_document, cml_file, woo_order, woo_request

MOSCOW = "Europe/Moscow"


def test_a_realistic_commerceml_order_in_windows_1251_is_read_in_full():
    body = cml_file([cml_document(7, paid=True, status="[P] Оплачен")])
    assert b"\xc8\xe2\xe0\xed\xee\xe2" in body  # "Иванов" in windows-1251, not UTF-8
    parsed = commerceml.parse(body, timezone=MOSCOW)
    assert parsed.skipped == []
    [order] = parsed.orders
    assert (order.external_id, order.number, order.status) == ("7", "1007", "[P] Оплачен")
    assert order.total == Decimal("2150.50") and order.currency == "руб"
    assert order.paid and order.paid_at == dt.datetime(2026, 11, 30, 13, 0, tzinfo=zoneinfo.ZoneInfo(MOSCOW))
    assert not order.cancelled
    assert order.ordered_at == dt.datetime(2026, 11, 30, 12, 7, tzinfo=zoneinfo.ZoneInfo(MOSCOW))
    assert (order.last_name, order.first_name) == ("Иванов", "Пётр")
    assert order.phone == "+7 (916) 000-00-07" and order.email == "buyer7@example.ru"
    assert order.address == "Москва, ул. Тверская, д. 7"
    assert [(line.name, line.sku, line.quantity, line.price, line.total) for line in order.lines] == [
        ("Чайник электрический", "A-1", Decimal("1"), Decimal("1500.00"), Decimal("1500.00")),
        ("Кружка «Утро»", "B-2", Decimal("2"), Decimal("325.25"), Decimal("650.50"))]
    assert order.problem == ""


def test_a_namespaced_utf8_file_with_contact_information_and_other_documents():
    body = ("""<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08">
 <Контейнер>
  <Документ><Ид>a-1</Ид><Номер>5</Номер><Дата>2026-11-30</Дата><ХозОперация>Заказ товара</ХозОперация>
   <Сумма>1 000,00</Сумма>
   <Контрагенты><Контрагент><Наименование>ООО Ромашка</Наименование><Роль>Покупатель</Роль>
    <КонтактнаяИнформация><КонтактнаяИнформация><Вид>Телефон мобильный</Вид><Представление>8 916 111-22-33</Представление></КонтактнаяИнформация></КонтактнаяИнформация>
   </Контрагент></Контрагенты>
   <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Отменен</Наименование><Значение>true</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
  </Документ>
  <Документ><Ид>b-2</Ид><ХозОперация>Отпуск товара</ХозОперация></Документ>
  <Документ><Номер>9</Номер><ХозОперация>Заказ товара</ХозОперация><Сумма>много</Сумма></Документ>
 </Контейнер>
</КоммерческаяИнформация>""").encode()
    parsed = commerceml.parse(body, timezone=MOSCOW)
    [order] = parsed.orders
    assert order.external_id == "a-1" and order.total == Decimal("1000.00") and order.cancelled
    assert order.last_name == "ООО Ромашка" and order.phone == "8 916 111-22-33"
    assert len(parsed.skipped) == 1 and "9" in parsed.skipped[0]


def test_an_unreadable_sum_or_date_is_the_orders_problem_and_the_order_is_kept():
    doc = cml_document(3).replace("<Сумма>2150.50</Сумма>", "<Сумма>две тысячи</Сумма>").replace(
        "<Дата>2026-11-30</Дата>", "<Дата>вчера</Дата>")
    [order] = commerceml.parse(cml_file([doc]), timezone=MOSCOW).orders
    assert order.total is None and order.ordered_at is None
    assert "две тысячи" in order.problem and "вчера" in order.problem


def test_an_xml_bomb_is_refused_quickly_with_a_problem():
    started = time.monotonic()
    with pytest.raises(SourceError, match="DTD"):
        commerceml.parse(BOMB)
    assert time.monotonic() - started < 1


def test_a_file_not_in_its_declared_encoding_is_refused():
    body = cml_file([cml_document(1)]).replace(b'encoding="windows-1251"', b'encoding="UTF-8"')
    with pytest.raises(SourceError, match="encoding it declares"):
        commerceml.parse(body)
    with pytest.raises(SourceError):
        commerceml.parse(cml_file([cml_document(1)]).replace(b"windows-1251", b"x-no-such-encoding"))


@pytest.mark.parametrize("body, words", [
    (b"", "empty"), ("<КоммерческаяИнформация><Документ></КоммерческаяИнформация>".encode(), "well-formed"), (b'<?xml version="1.0"?><orders/>', "not a CommerceML"),
    (b"not xml at all", "well-formed")])
def test_what_is_not_commerceml_is_refused_with_its_reason(body, words):
    with pytest.raises(SourceError, match=words):
        commerceml.parse(body)


def test_the_woocommerce_signature_is_base64_hmac_sha256_of_the_raw_body():
    body, headers = woo_request(woo_order(), "s3cret")
    assert woocommerce.signed("s3cret", body, headers["x-wc-webhook-signature"])
    assert not woocommerce.signed("other", body, headers["x-wc-webhook-signature"])
    assert not woocommerce.signed("s3cret", body + b" ", headers["x-wc-webhook-signature"])
    assert not woocommerce.signed("s3cret", body, None) and not woocommerce.signed("", body, "")
    # As WooCommerce computes it (PHP: base64_encode(hash_hmac('sha256', $body, $secret, true))), here from
    # `printf '{"id":1}' | openssl dgst -sha256 -hmac secret -binary | base64`.
    assert woocommerce.signature("secret", b'{"id":1}') == "A971iWIMgT8Zj9A9eWfikrFj7wQ16/Qwcc4OlRl2PLc="


def test_a_woocommerce_order_is_read():
    order = woocommerce.order_of(woo_order(status="completed"))
    assert (order.external_id, order.number, order.status, order.total, order.currency) == (
        "727", "727", "completed", Decimal("1299.00"), "RUB")
    assert (order.first_name, order.last_name, order.phone, order.email) == (
        "Анна", "Петрова", "+7 916 555-12-34", "anna.petrova@example.ru")
    assert order.ordered_at == dt.datetime(2026, 11, 30, 12, 10, tzinfo=dt.UTC)
    assert order.address == "ул. Ленина, 5, Казань, 420000, RU"
    assert [(line.name, line.quantity, line.price, line.sku) for line in order.lines] == [
        ("Плед шерстяной", Decimal("1"), Decimal("999"), "PLAID-1")]
    assert order.paid and not is_open(order.status, order.cancelled)
    with pytest.raises(ValueError):
        woocommerce.order_of({"webhook_id": 3})


def test_matching_a_buyer_to_a_card():
    # The phone's card first; it learns the e-mail nobody has.
    assert match(phone="+79161112233", email="a@b.ru", phone_owner=5, email_owner=None) == \
        type(match(phone=None, email="", phone_owner=None, email_owner=None))(5, False, False, True)
    # The e-mail's card when nobody has the phone; it learns the phone.
    m = match(phone="+79161112233", email="a@b.ru", phone_owner=None, email_owner=8)
    assert (m.counterparty_id, m.create, m.learn_phone, m.learn_email) == (8, False, True, False)
    # Nobody has either: a new card with both.
    m = match(phone="+79161112233", email="a@b.ru", phone_owner=None, email_owner=None)
    assert (m.counterparty_id, m.create, m.learn_phone, m.learn_email) == (None, True, True, True)
    # An unreadable phone (None): found by e-mail, no phone learned.
    m = match(phone=None, email="a@b.ru", phone_owner=None, email_owner=8)
    assert (m.counterparty_id, m.learn_phone) == (8, False)
    # A re-sent order stays on its card.
    assert match(phone="+79161112233", email="", phone_owner=5, email_owner=None, current=3).counterparty_id == 3


def test_a_phone_that_cannot_be_read_is_a_problem_not_a_failure():
    assert read_phone("8 (916) 111-22-33", "RU") == ("+79161112233", "")
    normalized, problem = read_phone("call me maybe", "RU")
    assert normalized is None and "call me maybe" in problem
    assert read_phone("", "RU") == (None, "")


def test_open_orders_names_and_deadlines():
    assert is_open("processing", False) and is_open("[N] Принят", False)
    assert not is_open("[F] Выполнен", False) and not is_open("cancelled", False) and not is_open("x", True)
    assert not is_open("Закрыт", False) and not is_open("В архиве", False) and not is_open("Отказ клиента", False)
    assert is_open("Ожидает получения", False)
    assert new_card_name(Incoming(external_id="1", last_name="Иванов")) == ("Иванов", "")
    assert new_card_name(Incoming(external_id="1", email="a@b.ru")) == ("", "a@b.ru")
    assert digest(Incoming(external_id="1")) == digest(Incoming(external_id="1"))
    assert digest(Incoming(external_id="1")) != digest(Incoming(external_id="1", paid=True))
    now = dt.datetime(2026, 11, 30, 20, 50, tzinfo=dt.UTC)
    assert task_deadline(now, 30, zoneinfo.ZoneInfo(MOSCOW)) == (dt.date(2026, 12, 1), dt.time(0, 20))
    assert money("1 500,50") == Decimal("1500.50") and money(None) is None
    with pytest.raises(ValueError):
        money("1e999")


def test_lists_pulled_from_a_url_json_and_csv():
    orders = feed.parse(json.dumps({"orders": [woo_order(1), woo_order(2), {"no": "id"}]}).encode())
    assert [o.external_id for o in orders] == ["1", "2"]
    csv_body = "Номер заказа;Статус;Сумма;ФИО;Телефон;E-mail\n77;new;1 200,00;Сидоров Иван;89161234567;s@x.ru\n".encode(
        "cp1251")
    [order] = feed.parse(csv_body)
    assert (order.external_id, order.status, order.total, order.last_name, order.first_name, order.phone) == (
        "77", "new", Decimal("1200.00"), "Сидоров", "Иван", "89161234567")
    with pytest.raises(SourceError):
        feed.parse(b"[1, 2")
    with pytest.raises(SourceError, match="ID or Number"):
        feed.parse(b"a;b\n1;2\n")


def test_the_1c_exchange_checks():
    import base64

    source = {"login": "shop", "secret": "pw"}
    header = "Basic " + base64.b64encode(b"shop:pw").decode()
    assert exchange.basic_credentials(header) == ("shop", "pw")
    assert exchange.authorised(source, ("shop", "pw"))
    assert not exchange.authorised(source, ("shop", "no")) and not exchange.authorised(source, None)
    assert not exchange.authorised({"login": "", "secret": ""}, ("", ""))
    assert exchange.basic_credentials("Basic !!!") is None and exchange.basic_credentials("Bearer x") is None
    assert exchange.safe_filename("../../etc/orders 1.xml") == "orders_1.xml"


async def test_a_key_no_source_can_have_is_not_looked_up():
    from crm.shop_orders.sources import by_key

    class NoDatabase:
        async def fetchrow(self, *args):
            raise AssertionError("looked up")

    for key in ("\x00", "short", "x" * 65, "ключ-ключ-ключ-ключ", "a/b" * 8):
        assert await by_key(NoDatabase(), key, "webhook") is None  # type: ignore[arg-type]


def test_a_source_is_checked_before_it_is_saved():
    from crm.errors import ValidationError
    from crm.shop_orders.sources import SourceInput

    with pytest.raises(ValidationError) as e:
        SourceInput(name=" ", kind="commerceml").cleaned()
    assert set(e.value.errors) == {"name", "login"}
    with pytest.raises(ValidationError) as e:
        SourceInput(name="Shop", kind="feed", make_task=True, reload_minutes=1).cleaned()
    assert set(e.value.errors) == {"url", "task_type_id", "reload_minutes"}
    ok = SourceInput(name="  Lavka  1C ", kind="commerceml", login="shop").cleaned()
    assert ok.name == "Lavka 1C" and ok.reload_minutes is None
