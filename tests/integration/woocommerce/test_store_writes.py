"""Coupons and customer tags through `responses`; every request body is checked against the schemas."""
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses
from responses import matchers

from adapters.woocommerce import WooCommercePlatform
from integration.ports import CustomerTags, DiscountCode, RemoteRef, StoreWriteError
from tests.integration.woocommerce.helpers import API, SHOP, STORE, error
from tests.woocommerce_contract import assert_requests_valid, fixture

CODE = DiscountCode(code="LB-AB12CD", kind="amount_off", value=Decimal("5.00"), customer_id="26",
                    customer_email="joao.silva@example.com", starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                    ends_at=datetime(2026, 1, 31, tzinfo=UTC), title="$5 off")
OUR_COUPON = {**fixture("coupon_created.v3.json"), "id": 731, "code": "lb-ab12cd",
              "meta_data": [{"id": 5, "key": "_loyalty_bridge_customer", "value": "26"}]}
EXISTS = error("woocommerce_rest_coupon_code_already_exists", 400)


@responses.activate
def test_create_discount_code_posts_a_valid_coupon():
    responses.post(API + "coupons", status=201, json=fixture("coupon_created.v3.json"))

    ref = WooCommercePlatform().create_discount_code(SHOP, CODE)

    assert ref == RemoteRef(remote_id="719", url=f"{STORE}/?coupon=lb-ab12cd")
    assert assert_requests_valid(responses.calls) == 1
    assert json.loads(responses.calls[0].request.body)["code"] == "lb-ab12cd"


@responses.activate
def test_existing_code_is_resolved_by_lookup():
    responses.post(API + "coupons", status=400, json=EXISTS)
    responses.get(API + "coupons", json=[OUR_COUPON], match=[matchers.query_param_matcher({"code": "lb-ab12cd"})])

    ref = WooCommercePlatform().create_discount_code(SHOP, CODE)

    assert ref == RemoteRef(remote_id="731", url=f"{STORE}/?coupon=lb-ab12cd")
    assert len(responses.calls) == 2
    assert assert_requests_valid(responses.calls) == 1


@responses.activate
def test_retry_after_a_lost_success_finds_the_coupon():
    responses.post(API + "coupons", status=504)  # the store created it, the proxy timed out
    responses.post(API + "coupons", status=400, json=EXISTS)
    responses.get(API + "coupons", json=[OUR_COUPON])
    sleeps = []

    ref = WooCommercePlatform(sleep=sleeps.append).create_discount_code(SHOP, CODE)

    assert ref.remote_id == "731"
    assert sleeps == [0.5]
    assert assert_requests_valid(responses.calls) == 2


@responses.activate
def test_code_taken_by_a_coupon_that_is_not_ours_fails_for_good():
    responses.post(API + "coupons", status=400, json=EXISTS)
    responses.get(API + "coupons", json=[{**OUR_COUPON, "meta_data": []}])

    with pytest.raises(StoreWriteError) as raised:
        WooCommercePlatform().create_discount_code(SHOP, CODE)

    assert raised.value.retryable is False


@responses.activate
def test_other_400_is_not_retried_and_not_looked_up():
    responses.post(API + "coupons", status=400, json=error("rest_invalid_param", 400))

    with pytest.raises(StoreWriteError) as raised:
        WooCommercePlatform(sleep=pytest.fail).create_discount_code(SHOP, CODE)

    assert raised.value.retryable is False
    assert len(responses.calls) == 1


@responses.activate
def test_delete_discount_code_forces_delete():
    responses.delete(API + "coupons/731", json=OUR_COUPON, match=[matchers.query_param_matcher({"force": "true"})])

    WooCommercePlatform().delete_discount_code(SHOP, RemoteRef("731"))

    assert len(responses.calls) == 1


@pytest.mark.parametrize(("status", "code"), [(404, "woocommerce_rest_shop_coupon_invalid_id"),
                                              (410, "woocommerce_rest_already_trashed")])
@responses.activate
def test_delete_of_a_missing_coupon_is_success(status, code):
    responses.delete(API + "coupons/731", status=status, json=error(code, status))

    WooCommercePlatform().delete_discount_code(SHOP, RemoteRef("731"))


@responses.activate
def test_delete_retries_5xx_then_raises():
    responses.delete(API + "coupons/731", status=500)
    sleeps = []

    with pytest.raises(StoreWriteError) as raised:
        WooCommercePlatform(sleep=sleeps.append, max_attempts=2).delete_discount_code(SHOP, RemoteRef("731"))

    assert raised.value.retryable is True
    assert len(responses.calls) == 2


def customer_with_tags(value):
    customer = fixture("customer_retrieved.v3.json")
    customer["meta_data"] = [{"id": 77, "key": "_loyalty_tags", "value": value}]
    return customer


@responses.activate
def test_tag_customer_merges_into_meta():
    responses.get(API + "customers/25", json=customer_with_tags("gold,member"))
    responses.put(API + "customers/25", json=customer_with_tags("member,platinum"))

    WooCommercePlatform().tag_customer(SHOP, CustomerTags("25", add=("platinum",), remove=("gold",)))

    assert json.loads(responses.calls[1].request.body) == {
        "meta_data": [{"key": "_loyalty_tags", "value": "member,platinum"}]}
    assert assert_requests_valid(responses.calls) == 1


@responses.activate
def test_tag_customer_without_meta_yet():
    responses.get(API + "customers/25", json=fixture("customer_retrieved.v3.json"))
    responses.put(API + "customers/25", json=customer_with_tags("gold"))

    WooCommercePlatform().tag_customer(SHOP, CustomerTags("25", add=("gold",)))

    assert json.loads(responses.calls[1].request.body)["meta_data"][0]["value"] == "gold"
    assert assert_requests_valid(responses.calls) == 1


@responses.activate
def test_tag_customer_writes_nothing_when_nothing_changes():
    responses.get(API + "customers/25", json=customer_with_tags("gold"))

    WooCommercePlatform().tag_customer(SHOP, CustomerTags("25", add=("gold",), remove=("onyx",)))

    assert len(responses.calls) == 1


@responses.activate
def test_tag_guest_is_a_no_op():
    WooCommercePlatform().tag_customer(SHOP, CustomerTags("guest:john.doe@example.com", add=("gold",)))

    assert len(responses.calls) == 0
