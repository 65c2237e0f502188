"""Rate limits and failures: the exact waits handed to `sleep`, and one code created."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import requests

from integration.ports import DiscountCode, RemoteRef, StoreAuthError, StoreWriteError

from .conftest import SHOP, graphql_url

NODE = "gid://shopify/DiscountCodeNode/1"
CODE = DiscountCode("LB-1", "amount_off", Decimal("5.00"), "7", None, datetime(2026, 1, 1, tzinfo=timezone.utc),
                    datetime(2026, 2, 1, tzinfo=timezone.utc), "Reward")
OK = {"data": {"discountCodeBasicCreate": {"codeDiscountNode": {"id": NODE, "codeDiscount": {"shareableUrls": []}}, "userErrors": []}},
      "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
                              "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}}}


def throttled(requested, available, rate):
    return {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                    "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": rate}}}}


def test_throttled_with_200_waits_for_the_bucket(api, platform, waits):
    api.post(graphql_url(), json=throttled(requested=152, available=2, rate=50.0))
    api.post(graphql_url(), json=OK)
    assert platform.create_discount_code(SHOP, CODE) == RemoteRef(NODE, "https://jsmith.myshopify.com/discount/LB-1")
    assert waits == [3.0]  # (152 - 2) / 50
    assert len(api.calls) == 2


def test_429_honours_retry_after(api, platform, waits):
    api.post(graphql_url(), status=429, headers={"Retry-After": "2.0"}, body="")
    api.post(graphql_url(), json=OK)
    platform.create_discount_code(SHOP, CODE)
    assert waits == [2.0]


def test_429_with_throttled_body_and_no_header_uses_the_cost(api, platform, waits):
    api.post(graphql_url(), status=429, json=throttled(requested=101, available=1, rate=100.0))
    api.post(graphql_url(), json=OK)
    platform.create_discount_code(SHOP, CODE)
    assert waits == [1.0]


def test_5xx_backs_off_exponentially(api, platform, waits):
    api.post(graphql_url(), status=502, body="Bad Gateway")
    api.post(graphql_url(), status=503, body="")
    api.post(graphql_url(), status=500, json={"errors": "Internal error"})
    api.post(graphql_url(), json=OK)
    assert platform.create_discount_code(SHOP, CODE).remote_id == NODE
    assert waits == [1.0, 2.0, 4.0]


def test_network_error_then_success(api, platform, waits):
    api.post(graphql_url(), body=requests.ConnectionError("reset"))
    api.post(graphql_url(), body=requests.Timeout("read timed out"))
    api.post(graphql_url(), json=OK)
    platform.create_discount_code(SHOP, CODE)
    assert waits == [1.0, 2.0]


def test_timed_out_create_that_succeeded_is_found_on_retry(api, platform, waits):
    api.post(graphql_url(), body=requests.Timeout("read timed out"))  # Shopify created it anyway
    api.post(graphql_url(), json={"data": {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}]}}})
    api.post(graphql_url(), json={"data": {"codeDiscountNodeByCode": {"id": NODE, "codeDiscount": {"shareableUrls": []}}}})
    assert platform.create_discount_code(SHOP, CODE).remote_id == NODE
    assert waits == [1.0]


def test_gives_up_after_max_attempts_as_retryable(api, platform, waits):
    for _ in range(4):
        api.post(graphql_url(), json=throttled(requested=300, available=100, rate=100.0))
    with pytest.raises(StoreWriteError) as error:
        platform.create_discount_code(SHOP, CODE)
    assert (error.value.retryable, error.value.retry_after) == (True, 2.0)
    assert waits == [2.0, 2.0, 2.0]
    assert len(api.calls) == 4


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_an_auth_error_without_retry(api, platform, waits, status):
    api.post(graphql_url(), status=status, json={"errors": "[API] Invalid API key or access token"})
    with pytest.raises(StoreAuthError):
        platform.create_discount_code(SHOP, CODE)
    assert (waits, len(api.calls)) == ([], 1)


def test_graphql_error_that_is_not_throttling_is_final(api, platform, waits):
    api.post(graphql_url(), json={"errors": [{"message": "Access denied for discountCodeBasicCreate field.",
                                              "extensions": {"code": "ACCESS_DENIED"}}]})
    with pytest.raises(StoreWriteError, match="access denied") as error:
        platform.create_discount_code(SHOP, CODE)
    assert error.value.retryable is False
    assert waits == []


def test_requests_use_the_configured_timeout(api, platform):
    api.post(graphql_url(), json=OK)
    platform.create_discount_code(SHOP, CODE)
    assert api.calls[0].request.req_kwargs["timeout"] == 10.0
