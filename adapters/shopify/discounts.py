"""Discount-code documents and variables. Pure: what `create_discount_code` sends.

One free item is a fixed amount equal to its price, spread across the entitled products
(`appliesOnEachItem: false`), because 100 % off would make every unit in the cart free.
Every code is single use (`usageLimit: 1`, `appliesOncePerCustomer`) and limited to the member:
`context.customers` from API 2025-10, `customerSelection.customers` before (per the contract).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from integration.ports import DiscountCode

CONTEXT_SINCE = "2025-10"

_RESULT = """
    codeDiscountNode { id codeDiscount { ...on %s { shareableUrls { url targetType } } } }
    userErrors { field code message }"""

BASIC_CREATE = """mutation LoyaltyDiscountBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {%s
  }
}""" % (_RESULT % "DiscountCodeBasic")

FREE_SHIPPING_CREATE = """mutation LoyaltyDiscountFreeShippingCreate($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {%s
  }
}""" % (_RESULT % "DiscountCodeFreeShipping")

BY_CODE = """query LoyaltyDiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      ...on DiscountCodeBasic { shareableUrls { url targetType } }
      ...on DiscountCodeFreeShipping { shareableUrls { url targetType } }
    }
  }
}"""

DELETE = """mutation LoyaltyDiscountDelete($id: ID!) {
  discountCodeDelete(id: $id) { deletedCodeDiscountId userErrors { field code message } }
}"""

KINDS = ("amount_off", "percent_off", "free_product", "free_shipping")


def gid(kind: str, value: str) -> str:
    """`gid://shopify/{kind}/{id}` unless already a gid."""
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def uses_context(api_version: str) -> bool:
    """2025-10 and later (and `unstable`) take `context`; older versions `customerSelection`."""
    return api_version == "unstable" or api_version >= CONTEXT_SINCE


def money_text(value: Decimal) -> str:
    """Shopify's `Decimal` scalar is a string; keep the exact digits (never a float)."""
    return format(value, "f")


def _eligibility(code: DiscountCode, api_version: str) -> dict[str, Any]:
    """The member only; a code for someone who is not a customer yet (a referred friend's welcome
    code, `customer_id` "") is open to every buyer and single use. Shopify code discounts have no
    "first order only" switch: the core checks that the friend is new when the order arrives."""
    if code.customer_id:
        return {"customers": {"add": [gid("Customer", code.customer_id)]}}
    return {"all": "ALL"} if uses_context(api_version) else {"all": True}


def _common(code: DiscountCode, api_version: str) -> dict[str, Any]:
    eligibility = _eligibility(code, api_version)
    fields: dict[str, Any] = {
        "title": code.title,
        "code": code.code,
        "startsAt": code.starts_at.isoformat(),
        "endsAt": code.ends_at.isoformat(),
        "context" if uses_context(api_version) else "customerSelection": eligibility,
        "appliesOncePerCustomer": True,
        "usageLimit": 1,
    }
    if code.minimum_subtotal is not None:
        fields["minimumRequirement"] = {"subtotal": {"greaterThanOrEqualToSubtotal": money_text(code.minimum_subtotal)}}
    return fields


def _items(code: DiscountCode) -> dict[str, Any]:
    """The reward's variants if named, else its products, else the whole order."""
    if code.variant_ids:
        return {"products": {"productVariantsToAdd": [gid("ProductVariant", v) for v in code.variant_ids]}}
    if code.product_ids:
        return {"products": {"productsToAdd": [gid("Product", p) for p in code.product_ids]}}
    return {"all": True}


def _value(code: DiscountCode) -> dict[str, Any]:
    if code.kind == "percent_off":
        # the API's `percentage` is a Float fraction (0.1 = 10 %); a ratio, not money
        return {"percentage": float(code.value / Decimal(100))}
    return {"discountAmount": {"amount": money_text(code.value), "appliesOnEachItem": False}}


def create_request(code: DiscountCode, api_version: str) -> tuple[str, dict[str, Any], str]:
    """(document, variables, payload field) for one reward code. Raises ValueError on a bad kind."""
    if code.kind not in KINDS:
        raise ValueError(f"unknown discount kind {code.kind!r}")
    if code.kind == "free_product" and not (code.product_ids or code.variant_ids):
        raise ValueError("free_product needs product_ids or variant_ids")
    fields = _common(code, api_version)
    if code.kind == "free_shipping":
        fields["destination"] = {"all": True}
        fields["combinesWith"] = {"orderDiscounts": True, "productDiscounts": True, "shippingDiscounts": False}
        return FREE_SHIPPING_CREATE, {"freeShippingCodeDiscount": fields}, "discountCodeFreeShippingCreate"
    fields["customerGets"] = {"value": _value(code), "items": _items(code)}
    fields["combinesWith"] = {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True}
    return BASIC_CREATE, {"basicCodeDiscount": fields}, "discountCodeBasicCreate"


def shareable_url(node: dict[str, Any] | None, shop_domain: str, code: str) -> str:
    """The API's HOME shareable URL when it gives one, else Shopify's `/discount/{code}` link."""
    urls = ((node or {}).get("codeDiscount") or {}).get("shareableUrls") or []
    for entry in sorted(urls, key=lambda u: u.get("targetType") != "HOME"):
        if entry.get("url"):
            return entry["url"]
    return f"https://{shop_domain}/discount/{quote(code, safe='')}"
