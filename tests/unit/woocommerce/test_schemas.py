"""The vendored schemas are valid, accept the docs examples and our fixtures, and reject known bad bodies
(the pytest form of shared/schemas/woocommerce/validate_examples.py)."""
import json

import pytest

from tests.woocommerce_contract import (
    SCHEMAS,
    assert_valid_coupon_create,
    assert_valid_order,
    assert_valid_webhook_create,
    fixture,
)


def example(name):
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_docs_examples_are_valid():
    assert_valid_coupon_create(example("example.coupon.create.request.json"))
    assert_valid_webhook_create(example("example.webhook.create.request.json"))
    assert_valid_order(example("example.order.retrieve.response.json"))


def test_order_fixtures_are_valid_orders():
    assert_valid_order(fixture("order_created_paid.v3.json"))
    assert_valid_order(fixture("order_completed_with_refunds.v3.json"))
    for order in fixture("orders_list_with_refunds.v3.json"):
        assert_valid_order(order)


@pytest.mark.parametrize(("check", "body"), [
    (assert_valid_coupon_create, {"code": "X", "amount": 10}),
    (assert_valid_coupon_create, {"code": "X", "discount_type": "percentage"}),
    (assert_valid_coupon_create, {"amount": "5"}),
    (assert_valid_coupon_create, {"code": "X", "id": 5}),
    (assert_valid_coupon_create, {"code": "X", "usageLimit": 1}),
    (assert_valid_webhook_create, {"topic": "order.paid", "delivery_url": "https://x.y/"}),
    (assert_valid_webhook_create, {"topic": "order.created", "delivery_url": "ftp://x.y/"}),
])
def test_known_bad_bodies_are_rejected(check, body):
    with pytest.raises(AssertionError):
        check(body)
