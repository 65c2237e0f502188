"""Reward codes through GraphQL: exact variables, version-specific fields, taken codes."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from adapters.shopify import ShopifyPlatform
from integration.ports import DiscountCode, RemoteRef, StoreWriteError

from .conftest import ADMIN, SHOP, graphql_url, sent

STARTS = datetime(2026, 9, 1, tzinfo=timezone.utc)
ENDS = datetime(2026, 10, 1, tzinfo=timezone.utc)
NODE = "gid://shopify/DiscountCodeNode/1057371280"


def reward(kind, value="10.00", **extra):
    return DiscountCode(code="LB-7F3K9Q", kind=kind, value=Decimal(value), customer_id="1073339470",
                        customer_email=None, starts_at=STARTS, ends_at=ENDS, title="Loyalty reward", **extra)


def created(field="discountCodeBasicCreate", urls=()):
    node = {"id": NODE, "codeDiscount": {"shareableUrls": list(urls)}}
    return {"data": {field: {"codeDiscountNode": node, "userErrors": []}}}


COMMON = {
    "title": "Loyalty reward", "code": "LB-7F3K9Q",
    "startsAt": "2026-09-01T00:00:00+00:00", "endsAt": "2026-10-01T00:00:00+00:00",
    "context": {"customers": {"add": ["gid://shopify/Customer/1073339470"]}},
    "appliesOncePerCustomer": True, "usageLimit": 1,
}
BASIC_COMBINES = {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True}


def test_amount_off_whole_order(api, platform):
    api.post(graphql_url(), json=created())
    ref = platform.create_discount_code(SHOP, reward("amount_off"))
    assert ref == RemoteRef(NODE, "https://jsmith.myshopify.com/discount/LB-7F3K9Q")
    assert sent(api)["variables"] == {"basicCodeDiscount": COMMON | {
        "customerGets": {"value": {"discountAmount": {"amount": "10.00", "appliesOnEachItem": False}}, "items": {"all": True}},
        "combinesWith": BASIC_COMBINES,
    }}


def test_free_product_is_one_unit_price_off_the_variant(api, platform):
    api.post(graphql_url(), json=created(urls=[{"url": "https://shop.example/discount/LB-7F3K9Q?redirect=%2Fproducts%2Ftote", "targetType": "PRODUCT"}]))
    ref = platform.create_discount_code(SHOP, reward("free_product", "24.50", product_ids=("632910392",), variant_ids=("447654529",)))
    assert ref.url == "https://shop.example/discount/LB-7F3K9Q?redirect=%2Fproducts%2Ftote"
    gets = sent(api)["variables"]["basicCodeDiscount"]["customerGets"]
    assert gets == {"value": {"discountAmount": {"amount": "24.50", "appliesOnEachItem": False}},
                    "items": {"products": {"productVariantsToAdd": ["gid://shopify/ProductVariant/447654529"]}}}


def test_percent_off_listed_products_with_minimum(api, platform):
    api.post(graphql_url(), json=created())
    platform.create_discount_code(SHOP, reward("percent_off", "15", product_ids=("632910392",), minimum_subtotal=Decimal("50.00")))
    fields = sent(api)["variables"]["basicCodeDiscount"]
    assert fields["customerGets"] == {"value": {"percentage": 0.15}, "items": {"products": {"productsToAdd": ["gid://shopify/Product/632910392"]}}}
    assert fields["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}}


def test_free_shipping_uses_its_own_mutation(api, platform):
    api.post(graphql_url(), json=created("discountCodeFreeShippingCreate"))
    assert platform.create_discount_code(SHOP, reward("free_shipping", "0")).remote_id == NODE
    assert "discountCodeFreeShippingCreate" in sent(api)["query"]
    assert sent(api)["variables"] == {"freeShippingCodeDiscount": COMMON | {
        "destination": {"all": True},
        "combinesWith": {"orderDiscounts": True, "productDiscounts": True, "shippingDiscounts": False},
    }}


def test_versions_before_2025_10_send_customer_selection(api, waits):
    old = ShopifyPlatform(admin_url=ADMIN, api_version="2025-01", sleep=waits.append)
    api.post(graphql_url("2025-01"), json=created())
    old.create_discount_code(SHOP, reward("amount_off"))
    fields = sent(api)["variables"]["basicCodeDiscount"]
    assert "context" not in fields
    assert fields["customerSelection"] == {"customers": {"add": ["gid://shopify/Customer/1073339470"]}}


def test_taken_code_resolves_to_the_existing_discount(api, platform):
    taken = {"data": {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique. Please try a different code."}]}}}
    api.post(graphql_url(), json=taken)
    api.post(graphql_url(), json={"data": {"codeDiscountNodeByCode": {"id": NODE, "codeDiscount": {"shareableUrls": []}}}})
    ref = platform.create_discount_code(SHOP, reward("amount_off"))
    assert ref == RemoteRef(NODE, "https://jsmith.myshopify.com/discount/LB-7F3K9Q")
    assert sent(api)["variables"] == {"code": "LB-7F3K9Q"}
    assert len(api.calls) == 2


def test_other_user_errors_are_final(api, platform):
    invalid = {"data": {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "endsAt"], "code": "INVALID", "message": "Ends at needs to be after starts_at"}]}}}
    api.post(graphql_url(), json=invalid)
    with pytest.raises(StoreWriteError, match="Ends at needs") as error:
        platform.create_discount_code(SHOP, reward("amount_off"))
    assert error.value.retryable is False
    assert len(api.calls) == 1


def test_unknown_kind_is_refused_without_a_call(platform):
    with pytest.raises(StoreWriteError, match="unknown discount kind") as error:
        platform.create_discount_code(SHOP, reward("donation"))
    assert error.value.retryable is False


@pytest.mark.parametrize("errors", [[], [{"field": ["id"], "code": "INVALID", "message": "Discount does not exist"}]])
def test_delete_succeeds_when_gone_already(api, platform, errors):
    api.post(graphql_url(), json={"data": {"discountCodeDelete": {"deletedCodeDiscountId": None, "userErrors": errors}}})
    assert platform.delete_discount_code(SHOP, RemoteRef(NODE)) is None
    assert sent(api)["variables"] == {"id": NODE}


def test_delete_refused_is_an_error(api, platform):
    api.post(graphql_url(), json={"data": {"discountCodeDelete": {"deletedCodeDiscountId": None, "userErrors": [
        {"field": None, "code": "INTERNAL_ERROR", "message": "Something went wrong"}]}}})
    with pytest.raises(StoreWriteError, match="Something went wrong"):
        platform.delete_discount_code(SHOP, RemoteRef(NODE))
