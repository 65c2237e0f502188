"""Reconciliation, portal claims, tags and webhook subscriptions through GraphQL."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.shopify import ShopifyPlatform
from integration.events import Amounts, Customer, Ignored, LineItem, OrderCancelled, OrderPaid, OrderRefunded
from integration.ports import CustomerTags, StoreWriteError

from .conftest import ADMIN, SHOP, graphql_url, sent


def money(amount):
    return {"shopMoney": {"amount": amount}}


def line(gid, variant, sku, allocation, quantity=1, gift=False):
    return {"id": f"gid://shopify/LineItem/{gid}", "title": "IPod Nano - 8gb", "sku": sku, "quantity": quantity,
            "isGiftCard": gift, "product": {"id": "gid://shopify/Product/632910392"},
            "variant": {"id": f"gid://shopify/ProductVariant/{variant}"}, "originalUnitPriceSet": money("199.00"),
            "discountAllocations": [{"allocatedAmountSet": money(allocation)}]}


# Shopify's order 450789469 (the webhook fixture) as the GraphQL detail query returns it
ORDER_1001 = {
    "id": "gid://shopify/Order/450789469", "name": "#1001", "email": "bob.norman@mail.example.com",
    "processedAt": "2008-01-10T16:00:00Z", "updatedAt": "2008-01-10T16:00:00Z", "cancelledAt": None,
    "displayFinancialStatus": "PARTIALLY_REFUNDED", "currencyCode": "USD", "discountCodes": ["TENOFF"],
    "customer": {"id": "gid://shopify/Customer/207119551", "firstName": "Bob", "lastName": "Norman", "locale": "en"},
    "totalPriceSet": money("598.94"), "totalTaxSet": money("11.94"), "totalTipReceivedSet": money("0.0"),
    "shippingLines": {"nodes": [{"isRemoved": False, "originalPriceSet": money("0.0"), "discountAllocations": []}]},
    "lineItems": {"pageInfo": {"hasNextPage": False}, "nodes": [
        line(466157049, 39072856, "IPOD2008GREEN", "3.34"),
        line(518995019, 49148385, "IPOD2008RED", "3.33"),
        line(703073504, 457924702, "IPOD2008BLACK", "3.33"),
    ]},
    "refunds": [{
        "id": "gid://shopify/Refund/509562969", "createdAt": "2025-04-02T16:29:59Z",
        "refundLineItems": {"pageInfo": {"hasNextPage": False}, "nodes": [
            {"quantity": 1, "subtotalSet": money("195.66"), "totalTaxSet": money("3.98"), "lineItem": {"id": "gid://shopify/LineItem/703073504"}},
            {"quantity": 1, "subtotalSet": money("195.67"), "totalTaxSet": money("3.98"), "lineItem": {"id": "gid://shopify/LineItem/466157049"}},
        ]},
        "refundShippingLines": {"nodes": []},
        "orderAdjustments": {"nodes": []},
    }],
}
BOB = Customer("207119551", "bob.norman@mail.example.com", "Bob", "Norman", None, "en")
NANO = ("632910392", "IPod Nano - 8gb")
PAID_1001 = OrderPaid(
    order_id="450789469", customer=BOB, paid_at=datetime(2008, 1, 10, 16, 0, tzinfo=timezone.utc), currency="USD",
    amounts=Amounts(merchandise=Decimal("587.00"), shipping=Decimal("0.0"), taxes=Decimal("11.94"), tips=Decimal("0.0")),
    order_number="#1001",
    line_items=(
        LineItem(NANO[0], "39072856", 1, Decimal("195.66"), NANO[1], "IPOD2008GREEN"),
        LineItem(NANO[0], "49148385", 1, Decimal("195.67"), NANO[1], "IPOD2008RED"),
        LineItem(NANO[0], "457924702", 1, Decimal("195.67"), NANO[1], "IPOD2008BLACK"),
    ),
    discount_codes=("TENOFF",), total=Decimal("598.94"),
)
REFUND_1001 = OrderRefunded(
    order_id="450789469", refund_id="509562969", refunded_at=datetime(2025, 4, 2, 16, 29, 59, tzinfo=timezone.utc),
    amounts=Amounts(merchandise=Decimal("391.33"), taxes=Decimal("7.96")), customer=BOB,
    line_items=(LineItem(NANO[0], "457924702", 1, Decimal("195.66"), NANO[1], "IPOD2008BLACK"),
                LineItem(NANO[0], "39072856", 1, Decimal("195.67"), NANO[1], "IPOD2008GREEN")),
)
PENDING = ORDER_1001 | {"id": "gid://shopify/Order/2", "displayFinancialStatus": "PENDING", "refunds": []}
CANCELLED = ORDER_1001 | {"id": "gid://shopify/Order/3", "displayFinancialStatus": "VOIDED", "refunds": [],
                          "cancelledAt": "2026-11-20T08:00:00Z"}


def page(ids, next_cursor=None):
    return {"data": {"orders": {"pageInfo": {"hasNextPage": next_cursor is not None, "endCursor": next_cursor},
                                "nodes": [{"id": i} for i in ids]}}}


def test_orders_since_pages_and_maps_like_the_webhooks(api, platform):
    api.post(graphql_url(), json=page(["gid://shopify/Order/450789469", "gid://shopify/Order/2"], "c1"))
    api.post(graphql_url(), json={"data": {"order": ORDER_1001}})
    api.post(graphql_url(), json={"data": {"order": PENDING}})
    api.post(graphql_url(), json=page(["gid://shopify/Order/3"]))
    api.post(graphql_url(), json={"data": {"order": CANCELLED}})
    since = datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    batches = list(platform.orders_since(SHOP, since))
    assert batches == [
        [PAID_1001, REFUND_1001],
        [Ignored("order 2 is pending")],
        [OrderCancelled("3", datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc), BOB)],
    ]
    assert sent(api, 0)["variables"] == {"query": "updated_at:>'2026-11-20T08:30:00Z'", "after": None}
    assert sent(api, 1)["variables"] == {"id": "gid://shopify/Order/450789469"}
    assert sent(api, 3)["variables"] == {"query": "updated_at:>'2026-11-20T08:30:00Z'", "after": "c1"}


def test_graphql_and_webhook_paths_agree_on_amounts():
    from pathlib import Path

    from adapters.shopify import orders, parse

    rest = parse.parse("orders/updated", (Path(__file__).parents[2] / "fixtures/shopify/orders_create__rich_order_450789469.json").read_bytes())
    graph = orders.order_events(ORDER_1001)
    assert [(e.amounts, e.line_items) for e in graph] == [(e.amounts, e.line_items) for e in rest]


def test_order_too_large_for_one_query_is_not_guessed():
    big = ORDER_1001 | {"lineItems": ORDER_1001["lineItems"] | {"pageInfo": {"hasNextPage": True}}}
    from adapters.shopify import orders

    assert orders.order_events(big) == [Ignored("order 450789469 is too large to reconcile; its webhooks stand")]


@pytest.mark.parametrize("email, found", [("BOB.norman@mail.example.com ", True), ("mallory@example.com", False)])
def test_find_order_checks_the_email(api, platform, email, found):
    api.post(graphql_url(), json={"data": {"orders": {"nodes": [{"id": "gid://shopify/Order/450789469", "name": "#1001"}]}}})
    api.post(graphql_url(), json={"data": {"order": ORDER_1001}})
    assert platform.find_order(SHOP, "1001", email) == (PAID_1001 if found else None)
    assert sent(api, 0)["variables"] == {"query": "name:'#1001'"}


def test_find_order_ignores_other_names(api, platform):
    api.post(graphql_url(), json={"data": {"orders": {"nodes": [{"id": "gid://shopify/Order/9", "name": "#10010"}]}}})
    assert platform.find_order(SHOP, "#1001", "bob.norman@mail.example.com") is None


def test_tag_customer_adds_then_removes(api, platform):
    for field in ("tagsAdd", "tagsRemove"):
        api.post(graphql_url(), json={"data": {field: {"node": {"id": "gid://shopify/Customer/7"}, "userErrors": []}}})
    platform.tag_customer(SHOP, CustomerTags("7", add=("loyalty:gold",), remove=("loyalty:red",)))
    assert sent(api, 0)["variables"] == {"id": "gid://shopify/Customer/7", "tags": ["loyalty:gold"]}
    assert "tagsRemove" in sent(api, 1)["query"]
    assert sent(api, 1)["variables"] == {"id": "gid://shopify/Customer/7", "tags": ["loyalty:red"]}


def test_tag_customer_with_nothing_to_do_makes_no_call(api, platform):
    platform.tag_customer(SHOP, CustomerTags("7"))
    assert len(api.calls) == 0


def test_tag_user_error_is_final(api, platform):
    api.post(graphql_url(), json={"data": {"tagsAdd": {"node": None, "userErrors": [{"field": ["id"], "message": "Customer not found"}]}}})
    with pytest.raises(StoreWriteError, match="Customer not found") as error:
        platform.tag_customer(SHOP, CustomerTags("7", add=("x",)))
    assert error.value.retryable is False


TOPICS = ["ORDERS_PAID", "ORDERS_CANCELLED", "REFUNDS_CREATE", "ORDERS_UPDATED", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "APP_UNINSTALLED"]


def test_subscribe_webhooks_is_idempotent(api, platform):
    for topic in TOPICS:
        errors = [{"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"}] if topic == "ORDERS_PAID" else []
        api.post(graphql_url(), json={"data": {"webhookSubscriptionCreate": {"webhookSubscription": None if errors else {"id": "gid://shopify/WebhookSubscription/1"}, "userErrors": errors}}})
    result = platform.subscribe_webhooks(SHOP, "https://loyalty.example.com/webhooks/shopify")
    assert result == {t: "exists" if t == "ORDERS_PAID" else "created" for t in TOPICS}
    assert [sent(api, i)["variables"]["topic"] for i in range(7)] == TOPICS
    assert sent(api, 0)["variables"]["webhookSubscription"] == {"uri": "https://loyalty.example.com/webhooks/shopify", "format": "JSON"}


def test_subscribe_webhooks_on_old_versions_sends_callback_url(api, waits):
    old = ShopifyPlatform(admin_url=ADMIN, api_version="2025-07", sleep=waits.append)
    for _ in TOPICS:
        api.post(graphql_url("2025-07"), json={"data": {"webhookSubscriptionCreate": {"webhookSubscription": {"id": "x"}, "userErrors": []}}})
    old.subscribe_webhooks(SHOP, "https://loyalty.example.com/webhooks/shopify")
    assert sent(api)["variables"]["webhookSubscription"] == {"callbackUrl": "https://loyalty.example.com/webhooks/shopify", "format": "JSON"}
