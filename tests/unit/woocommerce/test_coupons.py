"""Reward → coupon request body: exact bodies, each valid against the vendored coupon schema."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.woocommerce.coupons import coupon_body, coupon_url, is_ours
from integration.ports import DiscountCode, StoreWriteError
from tests.woocommerce_contract import assert_valid_coupon_create

BASE = DiscountCode(code="LB-AB12CD", kind="amount_off", value=Decimal("5.00"), customer_id="26",
                    customer_email="Joao.Silva@example.com", starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                    ends_at=datetime(2026, 1, 31, 12, 30, tzinfo=timezone(timedelta(hours=2))),
                    title="$5 off (loyalty reward)")
COMMON = {
    "code": "lb-ab12cd",
    "description": "$5 off (loyalty reward)",
    "date_expires": "2026-01-31T10:30:00Z",  # 12:30 at +02:00, sent in UTC with an explicit Z
    "individual_use": True,
    "usage_limit": 1,
    "usage_limit_per_user": 1,
    "email_restrictions": ["joao.silva@example.com"],
    "meta_data": [{"key": "_loyalty_bridge_customer", "value": "26"}],
}


def test_amount_off_body():
    body = coupon_body(BASE)

    assert body == {**COMMON, "discount_type": "fixed_cart", "amount": "5.00"}
    assert_valid_coupon_create(body)


def test_percent_off_body_with_minimum():
    body = coupon_body(replace(BASE, kind="percent_off", value=Decimal("15"), minimum_subtotal=Decimal("50.00")))

    assert body == {**COMMON, "discount_type": "percent", "amount": "15", "minimum_amount": "50.00"}
    assert_valid_coupon_create(body)


def test_free_product_body_limits_to_one_unit_of_the_products():
    code = replace(BASE, kind="free_product", value=Decimal("12.00"), product_ids=("22", "93"), variant_ids=("23", "22"))

    body = coupon_body(code)

    assert body == {**COMMON, "discount_type": "fixed_product", "amount": "12.00", "product_ids": [22, 93, 23],
                    "limit_usage_to_x_items": 1}
    assert_valid_coupon_create(body)


def test_free_shipping_body():
    body = coupon_body(replace(BASE, kind="free_shipping", value=Decimal("0")))

    assert body == {**COMMON, "discount_type": "fixed_cart", "amount": "0", "free_shipping": True}
    assert_valid_coupon_create(body)


def test_amount_never_uses_exponent_notation():
    body = coupon_body(replace(BASE, value=Decimal("1E+1")))

    assert body["amount"] == "10"
    assert_valid_coupon_create(body)


@pytest.mark.parametrize("change", [
    {"kind": "points_multiplier"},
    {"customer_email": None},
    {"customer_email": ""},
    {"kind": "percent_off", "value": Decimal("101")},
    {"value": Decimal("-1")},
    {"value": Decimal("NaN")},
    {"kind": "free_product", "product_ids": ()},
    {"kind": "free_product", "product_ids": ("gid://shopify/Product/1",)},
])
def test_impossible_rewards_fail_without_retry(change):
    with pytest.raises(StoreWriteError) as raised:
        coupon_body(replace(BASE, **change))

    assert raised.value.retryable is False


def test_coupon_url_uses_lower_case_code():
    assert coupon_url("https://shop.example/", "LB-AB12CD") == "https://shop.example/?coupon=lb-ab12cd"


def test_is_ours_needs_same_code_and_owner_mark():
    coupon = {"id": 719, "code": "lb-ab12cd", "meta_data": [{"id": 1, "key": "_loyalty_bridge_customer", "value": "26"}]}

    assert is_ours(coupon, BASE) is True
    assert is_ours({**coupon, "meta_data": []}, BASE) is False
    assert is_ours({**coupon, "code": "other"}, BASE) is False
    assert is_ours(coupon, replace(BASE, customer_id="27")) is False
