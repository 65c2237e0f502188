"""Fixture payloads → exact neutral events. Expected amounts are worked out by hand in comments."""
import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.woocommerce import WooCommercePlatform
from adapters.woocommerce.parse import UNKNOWN_TIME, parse
from integration.events import (
    Amounts,
    Customer,
    CustomerUpdated,
    Ignored,
    LineItem,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
)
from integration.ports import PayloadError
from tests.woocommerce_contract import fixture, fixture_bytes

GUEST_JOHN = Customer(customer_id="guest:john.doe@example.com", email="john.doe@example.com",
                      first_name="John", last_name="Doe")
JOAO = Customer(customer_id="26", email="joao.silva@example.com", first_name="João", last_name="Silva")
JOAO_CHANGED_AT = datetime(2017, 3, 21, 19, 54, 51, tzinfo=UTC)  # date_modified_gmt of order 723

ORDER_727_PAID = OrderPaid(
    order_id="727",
    customer=GUEST_JOHN,  # customer_id 0 → guest key from the billing email
    paid_at=datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC),  # date_paid_gmt
    currency="USD",
    # merchandise 6.00 + 12.00 = 18.00; shipping_total 10.00; total_tax 1.35 (total 29.35)
    amounts=Amounts(merchandise=Decimal("18.00"), shipping=Decimal("10.00"), taxes=Decimal("1.35")),
    order_number="727",
    line_items=(
        LineItem(product_id="93", variant_id=None, quantity=2, amount=Decimal("6.00"), title="Woo Single #1"),
        LineItem(product_id="22", variant_id="23", quantity=1, amount=Decimal("12.00"),
                 title="Ship Your Idea \u2013 Color: Black, Size: M Test", sku="Bar3"),
    ),
    total=Decimal("29.35"),
    shipping_address="969 Market, 94103, San Francisco, US",  # address_1, postcode, city, country
)
ORDER_723_PAID = OrderPaid(
    order_id="723",
    customer=JOAO,
    paid_at=JOAO_CHANGED_AT,  # date_paid_gmt is null: date_completed_gmt
    currency="USD",
    amounts=Amounts(merchandise=Decimal("29.00"), shipping=Decimal("10.00"), taxes=Decimal("0.00")),
    order_number="723",
    line_items=(
        LineItem(product_id="87", variant_id=None, quantity=1, amount=Decimal("9.00"), title="Woo Album #2"),
        LineItem(product_id="34", variant_id=None, quantity=1, amount=Decimal("20.00"), title="Woo Ninja"),
    ),
    total=Decimal("39.00"),
    shipping_address="Av. Brasil, 432, 12345-000, Rio de Janeiro, BR",
)
# Refunds, lowest id first: 724 (-9.00) all merchandise (29.00 left); 726 (-10.00) merchandise too (20.00 left).
REFUND_724 = OrderRefunded(order_id="723", refund_id="724", refunded_at=JOAO_CHANGED_AT,
                           amounts=Amounts(merchandise=Decimal("9.00")), customer=JOAO)
REFUND_726 = OrderRefunded(order_id="723", refund_id="726", refunded_at=JOAO_CHANGED_AT,
                           amounts=Amounts(merchandise=Decimal("10.00")), customer=JOAO)


def order_bytes(order):
    return json.dumps(order).encode("utf-8")


def test_paid_guest_order_gives_order_paid():
    assert parse("order.created", fixture_bytes("order_created_paid.v3.json")) == [ORDER_727_PAID]


def test_completed_order_with_refunds_gives_paid_and_one_event_per_refund():
    events = parse("order.updated", fixture_bytes("order_completed_with_refunds.v3.json"))

    assert events == [ORDER_723_PAID, REFUND_724, REFUND_726]


def test_refund_ids_and_totals_match_the_refunds_endpoint():
    refunds = {refund["id"]: Decimal(refund["amount"]) for refund in fixture("order_refunds_list.v3.json")}

    events = parse("order.updated", fixture_bytes("order_completed_with_refunds.v3.json"))

    gross = {int(e.refund_id): e.amounts.merchandise + e.amounts.shipping + e.amounts.taxes
             for e in events if isinstance(e, OrderRefunded)}
    assert gross == refunds == {726: Decimal("10.00"), 724: Decimal("9.00")}
    assert fixture("order_refund_created.v3.json")["id"] == 726


def test_refund_mapping_does_not_depend_on_array_order():
    order = fixture("order_completed_with_refunds.v3.json")
    order["refunds"].reverse()

    assert parse("order.updated", order_bytes(order)) == [ORDER_723_PAID, REFUND_724, REFUND_726]


def test_refunds_split_tax_by_share_then_merchandise_then_shipping():
    order = fixture("order_created_paid.v3.json")
    order["refunds"] = [{"id": 801, "reason": "", "total": "-26.12"}, {"id": 800, "reason": "", "total": "-3.23"}]

    events = parse("order.updated", order_bytes(order))

    # 800: taxes 3.23 × 1.35 / 29.35 = 0.1486 → 0.15; merchandise 3.23 - 0.15 = 3.08
    # 801: taxes 26.12 × 1.35 / 29.35 = 1.2014 → 1.20 (1.20 left); net 24.92 → merchandise 14.92
    #      (all that is left), shipping 10.00. Sum of both: 29.35 = the order total.
    assert events[1:] == [
        OrderRefunded(order_id="727", refund_id="800", refunded_at=datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC),
                      amounts=Amounts(merchandise=Decimal("3.08"), taxes=Decimal("0.15")), customer=GUEST_JOHN),
        OrderRefunded(order_id="727", refund_id="801", refunded_at=datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC),
                      amounts=Amounts(merchandise=Decimal("14.92"), shipping=Decimal("10.00"),
                                      taxes=Decimal("1.20")), customer=GUEST_JOHN),
    ]


def test_processing_then_completed_maps_to_the_same_order_paid():
    processing = fixture("order_created_paid.v3.json")
    completed = copy.deepcopy(processing)
    completed.update(status="completed", date_completed_gmt="2017-03-23T10:00:00",
                     date_modified_gmt="2017-03-23T10:00:00")
    completed_again = copy.deepcopy(completed)
    completed_again["date_modified_gmt"] = "2017-03-24T08:00:00"

    results = [parse("order.updated", order_bytes(order)) for order in (processing, completed, completed_again)]

    assert results == [[ORDER_727_PAID]] * 3


def test_restored_paid_order_is_paid_again():
    assert parse("order.restored", fixture_bytes("order_created_paid.v3.json")) == [ORDER_727_PAID]


def test_guest_key_is_lower_cased_email():
    order = fixture("order_created_paid.v3.json")
    order["billing"]["email"] = " John.Doe@Example.COM "

    [paid] = parse("order.updated", order_bytes(order))

    assert paid.customer.customer_id == "guest:john.doe@example.com"
    assert paid.customer.email == "John.Doe@Example.COM"


def test_guest_order_without_email_is_ignored():
    order = fixture("order_created_paid.v3.json")
    order["billing"]["email"] = ""

    assert parse("order.updated", order_bytes(order)) == [Ignored("order 727 is a guest order without an email")]


def test_coupon_codes_are_lower_cased():
    order = fixture("order_created_paid.v3.json")
    order["coupon_lines"] = [{"id": 1, "code": "LOYAL-ABC", "discount": "2.00", "discount_tax": "0.00", "meta_data": []}]

    [paid] = parse("order.updated", order_bytes(order))

    assert paid.discount_codes == ("loyal-abc",)


def test_gift_card_lines_are_kept_out_of_merchandise():
    order = fixture("order_created_paid.v3.json")
    order["line_items"][1]["meta_data"].append({"id": 9, "key": "wc_gc_giftcard_to", "value": "a@b.c"})

    [paid] = parse("order.updated", order_bytes(order))

    assert paid.amounts == Amounts(merchandise=Decimal("6.00"), shipping=Decimal("10.00"), taxes=Decimal("1.35"),
                                   gift_cards=Decimal("12.00"))
    assert [line.gift_card for line in paid.line_items] == [False, True]


def test_refunded_order_without_refund_entries_is_reversed_whole():
    order = fixture("order_completed_with_refunds.v3.json")
    order.update(status="refunded", refunds=[])

    assert parse("order.updated", order_bytes(order)) == [
        OrderCancelled(order_id="723", cancelled_at=JOAO_CHANGED_AT, customer=JOAO)]


def test_refunded_order_with_refund_entries_gives_only_refunds():
    order = fixture("order_completed_with_refunds.v3.json")
    order["status"] = "refunded"

    assert parse("order.updated", order_bytes(order)) == [REFUND_724, REFUND_726]


@pytest.mark.parametrize("status", ["cancelled", "trash"])
def test_cancelled_or_trashed_order_is_cancelled(status):
    order = fixture("order_completed_with_refunds.v3.json")
    order["status"] = status

    assert parse("order.updated", order_bytes(order)) == [
        OrderCancelled(order_id="723", cancelled_at=JOAO_CHANGED_AT, customer=JOAO)]


def test_deleted_order_is_cancelled_at_received_time_or_unknown_time():
    received = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    assert parse("order.deleted", b'{"id":727}') == [OrderCancelled(order_id="727", cancelled_at=UNKNOWN_TIME)]
    assert WooCommercePlatform().parse("order.deleted", b'{"id":727}', received) == [
        OrderCancelled(order_id="727", cancelled_at=received)]


@pytest.mark.parametrize("status", ["pending", "on-hold", "failed", "checkout-draft", "draft", "auto-draft", "x-custom"])
def test_unpaid_statuses_are_ignored(status):
    order = fixture("order_created_paid.v3.json")
    order["status"] = status

    assert parse("order.updated", order_bytes(order)) == [Ignored(f"order 727 is {status}, not paid")]


def test_customer_topics_give_customer_updated():
    expected = [CustomerUpdated(customer=Customer(customer_id="25", email="john.doe@example.com", first_name="John",
                                                  last_name="Doe"),
                                updated_at=datetime(2017, 3, 21, 19, 9, 30, tzinfo=UTC))]

    assert parse("customer.created", fixture_bytes("customer_retrieved.v3.json")) == expected
    assert parse("Customer.Updated", fixture_bytes("customer_retrieved.v3.json")) == expected


@pytest.mark.parametrize("topic", ["coupon.updated", "product.created", "action.woocommerce_payment_complete", ""])
def test_other_topics_are_ignored_without_reading_the_body(topic):
    [event] = parse(topic, b"not json")

    assert isinstance(event, Ignored)


@pytest.mark.parametrize(("topic", "body"), [
    ("order.updated", b"{not json"),
    ("order.updated", b"\xff\xfe"),
    ("order.updated", b"[1, 2]"),
    ("order.updated", b'{"status": "processing"}'),
    ("order.updated", b'{"id": 0, "status": "processing"}'),
    ("order.deleted", b"{}"),
    ("customer.updated", b'{"email": "a@b.c"}'),
    ("order.updated", b'{"code": "woocommerce_rest_cannot_view", "message": "Sorry", "data": {"status": 401}}'),
])
def test_unreadable_bodies_raise_payload_error(topic, body):
    with pytest.raises(PayloadError):
        parse(topic, body)


@pytest.mark.parametrize(("field", "value"), [("total", "abc"), ("total", None), ("total", True),
                                              ("date_paid_gmt", "yesterday"), ("total", "NaN")])
def test_bad_order_fields_raise_payload_error(field, value):
    order = fixture("order_created_paid.v3.json")
    order[field] = value

    with pytest.raises(PayloadError):
        parse("order.updated", order_bytes(order))


def test_bad_line_total_raises_payload_error():
    order = fixture("order_created_paid.v3.json")
    order["line_items"][0]["total"] = "six"

    with pytest.raises(PayloadError):
        parse("order.updated", order_bytes(order))


def test_json_numbers_for_money_become_exact_decimals():
    body = fixture_bytes("order_created_paid.v3.json").replace(b'"total": "6.00"', b'"total": 6.10')

    [paid] = parse("order.updated", body)

    assert paid.line_items[0].amount == Decimal("6.10")
    assert paid.amounts.merchandise == Decimal("18.10")
