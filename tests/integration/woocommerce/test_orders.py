"""Reconciliation (`orders_since`, all pages) and portal claims (`find_order`)."""
import copy
from datetime import UTC, datetime, timedelta, timezone

import responses
from responses import matchers

from adapters.woocommerce import WooCommercePlatform
from integration.events import Ignored, OrderPaid
from tests.integration.woocommerce.helpers import API, SHOP
from tests.woocommerce_contract import fixture

ORDERS = fixture("orders_list_with_refunds.v3.json")  # [727 processing guest, 723 completed with 2 refunds]


def page_params(page):
    return {"modified_after": "2024-05-01T10:00:00", "dates_are_gmt": "true", "per_page": "100",
            "orderby": "modified", "order": "asc", "page": str(page)}


@responses.activate
def test_orders_since_walks_every_page():
    extra = copy.deepcopy(ORDERS[0])
    extra.update(id=730, number="730", status="pending")
    for page, body in enumerate([[ORDERS[0]], [ORDERS[1]], [extra]], start=1):
        responses.get(API + "orders", json=body, headers={"X-WP-Total": "3", "X-WP-TotalPages": "3"},
                      match=[matchers.query_param_matcher(page_params(page))])
    since = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))  # 10:00 UTC

    batches = list(WooCommercePlatform().orders_since(SHOP, since))

    assert [[type(event).__name__ for event in batch] for batch in batches] == [
        ["OrderPaid"], ["OrderPaid", "OrderRefunded", "OrderRefunded"], ["Ignored"]]
    assert [batch[0].order_id for batch in batches[:2]] == ["727", "723"]
    assert [event.refund_id for event in batches[1][1:]] == ["724", "726"]
    assert len(responses.calls) == 3


@responses.activate
def test_orders_since_without_total_pages_stops_at_a_short_page():
    responses.get(API + "orders", json=[ORDERS[0]])

    batches = list(WooCommercePlatform().orders_since(SHOP, datetime(2024, 5, 1, 10, 0, tzinfo=UTC)))

    assert len(batches) == 1
    assert len(responses.calls) == 1


@responses.activate
def test_orders_since_reports_an_unreadable_order_and_goes_on():
    broken = {**ORDERS[0], "total": "n/a"}
    responses.get(API + "orders", json=[broken, ORDERS[1]], headers={"X-WP-TotalPages": "1"})

    batches = list(WooCommercePlatform().orders_since(SHOP, datetime(2024, 5, 1, tzinfo=UTC)))

    assert isinstance(batches[0][0], Ignored) and "727" in batches[0][0].reason
    assert isinstance(batches[1][0], OrderPaid)


@responses.activate
def test_find_order_by_number_and_matching_email():
    responses.get(API + "orders/723", json=ORDERS[1])

    found = WooCommercePlatform().find_order(SHOP, "#723", "Joao.Silva@Example.com")

    assert isinstance(found, OrderPaid) and found.order_id == "723"
    assert len(responses.calls) == 1


@responses.activate
def test_find_order_with_wrong_email_finds_nothing():
    responses.get(API + "orders/723", json=ORDERS[1])
    responses.get(API + "orders", json=[], match=[matchers.query_param_matcher(
        {"search": "someone@else.com", "per_page": "100", "page": "1"})])

    assert WooCommercePlatform().find_order(SHOP, "723", "someone@else.com") is None


@responses.activate
def test_find_order_with_custom_numbering_searches_by_email():
    renumbered = {**ORDERS[1], "number": "WC-2017-0042"}
    responses.get(API + "orders", json=[ORDERS[0], renumbered], headers={"X-WP-TotalPages": "1"})

    found = WooCommercePlatform().find_order(SHOP, "WC-2017-0042", "joao.silva@example.com")

    assert found is not None and found.order_id == "723"


@responses.activate
def test_find_order_of_an_unpaid_order_is_none():
    responses.get(API + "orders/727", json={**ORDERS[0], "status": "pending"})
    responses.get(API + "orders", json=[])

    assert WooCommercePlatform().find_order(SHOP, "727", "john.doe@example.com") is None


@responses.activate
def test_find_order_missing_id_falls_back_to_search():
    responses.get(API + "orders/999", status=404, json={"code": "woocommerce_rest_shop_order_invalid_id",
                                                        "message": "Invalid ID.", "data": {"status": 404}})
    responses.get(API + "orders", json=[])

    assert WooCommercePlatform().find_order(SHOP, "999", "john.doe@example.com") is None
    assert len(responses.calls) == 2
