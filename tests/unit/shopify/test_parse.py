"""Every fixture payload → the exact neutral events, amounts written out by hand from the file."""
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.shopify import ShopifyPlatform
from integration.events import (
    AppUninstalled,
    Amounts,
    Customer,
    CustomerDataRequested,
    CustomerRedactRequested,
    CustomerUpdated,
    Ignored,
    LineItem,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    ShopRedactRequested,
)
from integration.ports import PayloadError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "shopify"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
platform = ShopifyPlatform(now=lambda: NOW)

JANE = Customer("1073339475", "jane@example.com", "John", "Smith", accepts_marketing=False)
BOB = Customer("207119551", "bob.norman@mail.example.com", "Bob", "Norman", accepts_marketing=False)
ORDER_1002 = OrderPaid(
    order_id="1073459981",
    customer=JANE,
    paid_at=datetime(2025, 4, 2, 16, 31, 38, tzinfo=timezone.utc),
    currency="USD",
    # one line 199.00 x 1 minus its FAKE30 allocation 17.91; no shipping lines; tax 0.00
    amounts=Amounts(merchandise=Decimal("181.09"), shipping=Decimal("0"), taxes=Decimal("0.00"), tips=Decimal("0.00")),
    order_number="#1002",
    line_items=(LineItem("921728736", "447654529", 1, Decimal("181.09"), "IPod Touch 8GB", "IPOD2009BLACK"),),
    discount_codes=("FAKE30",),
    total=Decimal("181.09"),
    shipping_address="123 Fake Street, K2P 1L4, Fakecity, CA",  # address1, zip, city, country_code
)
GREEN = LineItem("632910392", "39072856", 1, Decimal("195.66"), "IPod Nano - 8gb", "IPOD2008GREEN")  # 199.00 - 3.34
RED = LineItem("632910392", "49148385", 1, Decimal("195.67"), "IPod Nano - 8gb", "IPOD2008RED")  # 199.00 - 3.33
BLACK = LineItem("632910392", "457924702", 1, Decimal("195.67"), "IPod Nano - 8gb", "IPOD2008BLACK")  # 199.00 - 3.33
ORDER_1001 = OrderPaid(
    order_id="450789469",
    customer=BOB,
    paid_at=datetime(2008, 1, 10, 16, 0, tzinfo=timezone.utc),
    currency="USD",
    # 3 x 199.00 - (3.34 + 3.33 + 3.33) = 587.00; free shipping 0.00; total_tax_set 11.94
    amounts=Amounts(merchandise=Decimal("587.00"), shipping=Decimal("0.00"), taxes=Decimal("11.94"), tips=Decimal("0.00")),
    order_number="#1001",
    line_items=(GREEN, RED, BLACK),
    discount_codes=("TENOFF",),
    total=Decimal("598.94"),
    shipping_address="Chestnut Street 92, 40202, Louisville, US",
)
REFUND_509562969 = OrderRefunded(
    order_id="450789469",
    refund_id="509562969",
    refunded_at=datetime(2025, 4, 2, 16, 29, 59, tzinfo=timezone.utc),
    # refund lines' subtotal_set 195.66 + 195.67; total_tax_set 3.98 + 3.98
    amounts=Amounts(merchandise=Decimal("391.33"), taxes=Decimal("7.96")),
    customer=BOB,
    line_items=(
        LineItem("632910392", "457924702", 1, Decimal("195.66"), "IPod Nano - 8gb", "IPOD2008BLACK"),
        LineItem("632910392", "39072856", 1, Decimal("195.67"), "IPod Nano - 8gb", "IPOD2008GREEN"),
    ),
)


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_orders_paid_fixture():
    assert platform.parse("orders/paid", body("orders_paid.json")) == [ORDER_1002]


def test_paid_amounts_are_exact_decimals():
    (event,) = platform.parse("orders/paid", body("orders_paid.json"))
    assert str(event.amounts.merchandise) == "181.09"
    assert str(event.total) == "181.09"


@pytest.mark.parametrize("topic", ["orders/updated", "orders/create"])
def test_partially_refunded_order_is_paid_plus_its_refunds(topic):
    events = platform.parse(topic, body("orders_create__rich_order_450789469.json"))
    assert events == [ORDER_1001, REFUND_509562969]


def test_refunds_create_fixture():
    events = platform.parse("refunds/create", body("refunds_create.json"))
    assert events == [
        OrderRefunded(
            order_id="450789469",
            refund_id="929361472",
            refunded_at=datetime(2025, 4, 2, 16, 38, 34, tzinfo=timezone.utc),
            # the one refund line's subtotal_set and total_tax_set are both 0.00 in Shopify's sample
            amounts=Amounts(merchandise=Decimal("0.00"), taxes=Decimal("0.00")),
            line_items=(LineItem("632910392", "49148385", 1, Decimal("0.00"), "IPod Nano - 8gb", "IPOD2008RED"),),
        )
    ]


def test_customers_data_request_fixture():
    assert platform.parse("customers/data_request", body("customers_data_request.json")) == [
        CustomerDataRequested("191167", "john@example.com", "9999", ("299938", "280263", "220458"))
    ]


def test_customers_redact_fixture():
    assert platform.parse("customers/redact", body("customers_redact.json")) == [
        CustomerRedactRequested("191167", "john@example.com", ("299938", "280263", "220458"))
    ]


def test_shop_redact_is_dated_by_the_delivery():
    triggered = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
    assert platform.parse("shop/redact", body("shop_redact.json"), triggered) == [ShopRedactRequested(triggered)]


def test_app_uninstalled_without_delivery_time_uses_the_clock():
    assert platform.parse("app/uninstalled", body("app_uninstalled__shop_resource.json")) == [AppUninstalled(NOW)]


def _order(**changes) -> bytes:
    import json

    data = json.loads(body("orders_paid.json"))
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize("status", ["pending", "authorized", "partially_paid", "voided"])
def test_unpaid_order_update_is_ignored(status):
    assert platform.parse("orders/updated", _order(financial_status=status)) == [
        Ignored(f"order 1073459981 is {status}")
    ]


def test_orders_cancelled_gives_cancelled():
    events = platform.parse("orders/cancelled", _order(cancelled_at="2025-04-03T10:00:00-05:00", financial_status="voided"))
    assert events == [OrderCancelled("1073459981", datetime(2025, 4, 3, 15, 0, tzinfo=timezone.utc), JANE)]


def test_gift_cards_shipping_and_tips_are_split_out():
    import json

    data = json.loads(body("orders_paid.json"))
    card = dict(data["line_items"][0], id=1, gift_card=True, price_set={"shop_money": {"amount": "50.00"}},
                quantity=2, discount_allocations=[], product_id=7, variant_id=8)
    data["line_items"].append(card)
    data["shipping_lines"] = [{"price_set": {"shop_money": {"amount": "10.00"}, "presentment_money": {"amount": "14.00"}},
                               "discount_allocations": [{"amount_set": {"shop_money": {"amount": "2.50"}}}]}]
    data["total_tip_received"] = "3.00"
    (event,) = platform.parse("orders/paid", json.dumps(data).encode())
    assert event.amounts == Amounts(Decimal("181.09"), Decimal("7.50"), Decimal("0.00"), Decimal("100.00"), Decimal("3.00"))


def test_guest_order_is_keyed_by_email():
    (event,) = platform.parse("orders/paid", _order(customer=None, email="Guest@Example.com"))
    assert event.customer == Customer("guest:guest@example.com", "Guest@Example.com")


def test_refund_shipping_and_discrepancy_adjustments():
    import json

    data = json.loads(body("refunds_create.json"))
    data["order_adjustments"] = [
        {"kind": "shipping_refund", "amount_set": {"shop_money": {"amount": "-5.00"}}, "tax_amount_set": {"shop_money": {"amount": "-0.30"}}},
        {"kind": "refund_discrepancy", "amount_set": {"shop_money": {"amount": "-41.94"}}, "tax_amount": "0.00"},
    ]
    (event,) = platform.parse("refunds/create", json.dumps(data).encode())
    assert event.amounts == Amounts(merchandise=Decimal("41.94"), shipping=Decimal("5.00"), taxes=Decimal("0.30"))


@pytest.mark.parametrize("state, expected", [("subscribed", True), ("not_subscribed", False), ("unsubscribed", False)])
def test_customer_update_reads_email_consent(state, expected):
    payload = ('{"id": 706405506930370084, "email": null, "first_name": "Ann", "last_name": null,'
               ' "updated_at": "2026-01-01T00:00:00Z", "email_marketing_consent": {"state": "%s"}}' % state)
    assert platform.parse("customers/update", payload.encode()) == [
        CustomerUpdated(Customer("706405506930370084", None, "Ann", None, expected), datetime(2026, 1, 1, tzinfo=timezone.utc))
    ]


def test_legacy_accepts_marketing_is_used_without_consent_block():
    payload = b'{"id": 1, "email": "a@b.c", "accepts_marketing": true, "created_at": "2026-01-01T00:00:00Z"}'
    (event,) = platform.parse("customers/create", payload)
    assert event.customer.accepts_marketing is True


def test_unknown_topic_is_ignored_without_reading_the_body():
    assert platform.parse("products/update", b"not json") == [Ignored("topic products/update is not used")]


@pytest.mark.parametrize("payload, message", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"financial_status": "paid"}', "missing order id"),
    (b'{"order_id": 1, "processed_at": "2025-01-01T00:00:00Z"}', "missing refund id"),
])
def test_unparseable_bodies_raise_payload_error(payload, message):
    topic = "refunds/create" if b"order_id" in payload else "orders/paid"
    with pytest.raises(PayloadError, match=message):
        platform.parse(topic, payload)


def test_money_never_goes_through_float():
    (event,) = platform.parse("orders/paid", _order(total_price_set={"shop_money": {"amount": "0.30"}}))
    assert event.total == Decimal("0.30")
