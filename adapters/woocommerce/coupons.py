"""Reward codes as WooCommerce coupons: the request body, and how to recognise our own coupon.

Pure. The body follows `POST /wp-json/wc/v3/coupons` (tests/schemas/woocommerce/coupon.create.json):
money as strings, ids as integers, and `date_expires` with an explicit `Z`, because a string
without offset is read in the site's timezone and `date_expires_gmt` has no setter behind it.
WooCommerce lower-cases codes (`wc_format_coupon_code`), so codes are compared case-insensitively.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from integration.ports import DiscountCode, StoreWriteError

CODE_EXISTS = "woocommerce_rest_coupon_code_already_exists"
OWNER_META_KEY = "_loyalty_bridge_customer"  # marks a coupon as ours, and for whom
INDIVIDUAL_USE = True  # a reward does not stack with the merchant's other coupons
_DISCOUNT_TYPES = {
    "amount_off": "fixed_cart",
    "percent_off": "percent",
    "free_product": "fixed_product",
    "free_shipping": "fixed_cart",
}


def coupon_body(code: DiscountCode) -> dict[str, Any]:
    """One single-use coupon restricted to the member's billing email.

    WooCommerce has no start date and no "new customers only": `starts_at` and
    `new_customers_only` are not sent (the core issues codes when they become valid)."""
    if code.kind not in _DISCOUNT_TYPES:
        raise StoreWriteError(f"unknown reward kind {code.kind!r}", retryable=False)
    if not code.customer_email:
        raise StoreWriteError("a WooCommerce reward needs the member's email", retryable=False)
    body: dict[str, Any] = {
        "code": code.code.strip().lower(),
        "discount_type": _DISCOUNT_TYPES[code.kind],
        "amount": _amount(code),
        "description": code.title,
        "date_expires": _utc_text(code.ends_at),
        "individual_use": INDIVIDUAL_USE,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "email_restrictions": [code.customer_email.strip().lower()],
        "meta_data": [{"key": OWNER_META_KEY, "value": code.customer_id}],
    }
    if code.kind == "free_product":
        body["product_ids"] = _product_ids(code)
        body["limit_usage_to_x_items"] = 1
    if code.kind == "free_shipping":
        body["free_shipping"] = True
    if code.minimum_subtotal is not None:
        body["minimum_amount"] = _decimal_text(code.minimum_subtotal)
    return body


def coupon_url(store_url: str, code: str) -> str:
    """A link that applies the code on visit. Core WooCommerce ignores `?coupon=`: it works only
    with a plugin or theme that reads it (e.g. "URL Coupons"); otherwise it just opens the shop."""
    return f"{store_url.rstrip('/')}/?coupon={quote(code.strip().lower(), safe='')}"


def is_ours(coupon: Mapping[str, Any], code: DiscountCode) -> bool:
    """True if `coupon` is the one we created for `code` (same code, our owner mark)."""
    if str(coupon.get("code", "")).strip().lower() != code.code.strip().lower():
        return False
    meta = coupon.get("meta_data") if isinstance(coupon.get("meta_data"), list) else []
    return any(isinstance(item, Mapping) and item.get("key") == OWNER_META_KEY
               and str(item.get("value")) == code.customer_id for item in meta)


def _amount(code: DiscountCode) -> str:
    if code.kind == "free_shipping":
        return "0"
    if code.kind == "percent_off" and code.value > 100:
        raise StoreWriteError(f"percent off above 100: {code.value}", retryable=False)
    return _decimal_text(code.value)


def _decimal_text(value: Decimal) -> str:
    """`12.50`, never `1.25E+1` nor a float: the schema wants `^\\d+(\\.\\d+)?$`."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise StoreWriteError(f"bad amount {value!r}", retryable=False)
    return format(value, "f")


def _product_ids(code: DiscountCode) -> list[int]:
    """Products and variations both go to `product_ids` (WooCommerce accepts variation ids there)."""
    ids: list[int] = []
    for value in (*code.product_ids, *code.variant_ids):
        if not str(value).isdigit():
            raise StoreWriteError(f"bad WooCommerce product id {value!r}", retryable=False)
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise StoreWriteError("a free-product reward needs product ids", retryable=False)
    return ids


def _utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with `Z` and whole seconds, the form `WC_Data::set_date_prop` parses."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")
