"""Transport: auth per scheme, retries on network errors / 429 / 5xx only, error mapping."""
import base64
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from adapters.woocommerce import WooCommercePlatform
from adapters.woocommerce.client import WooRequestError
from adapters.woocommerce.oauth import signature
from integration.ports import StoreAuthError, StoreWriteError
from tests.integration.woocommerce.helpers import API, HTTP_SHOP, HTTP_STORE, SHOP, error


def platform(sleeps):
    return WooCommercePlatform(sleep=sleeps.append)


@responses.activate
def test_https_uses_basic_auth_and_our_user_agent():
    responses.get(API + "webhooks", json=[])

    WooCommercePlatform().client(SHOP).get("webhooks", {"per_page": 1})

    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ck_test:cs_test").decode()
    assert request.headers["User-Agent"].startswith("loyalty-bridge/")
    assert parse_qs(urlsplit(request.url).query) == {"per_page": ["1"]}


@responses.activate
def test_http_signs_the_query_once_with_oauth():
    url = HTTP_STORE + "/wp-json/wc/v3/orders"
    responses.get(url, json=[])

    WooCommercePlatform().client(HTTP_SHOP).get("orders", {"per_page": 100, "dates_are_gmt": "true"})

    request = responses.calls[0].request
    query = parse_qs(urlsplit(request.url).query)
    assert "Authorization" not in request.headers
    assert all(len(values) == 1 for values in query.values())  # the official client sends them twice
    params = {key: values[0] for key, values in query.items()}
    sent = params.pop("oauth_signature")
    assert params["oauth_consumer_key"] == "ck_test" and params["per_page"] == "100"
    assert sent == signature("GET", url, params, "cs_test")


@responses.activate
def test_5xx_is_retried_with_backoff_then_succeeds():
    responses.get(API + "webhooks", status=502, body="bad gateway")
    responses.get(API + "webhooks", status=500, json=error("internal", 500))
    responses.get(API + "webhooks", json=[{"id": 1}])
    sleeps = []

    assert platform(sleeps).client(SHOP).get("webhooks") == [{"id": 1}]
    assert len(responses.calls) == 3
    assert sleeps == [0.5, 1.0]


@responses.activate
def test_5xx_until_the_last_attempt_raises_retryable():
    responses.get(API + "webhooks", status=503)
    sleeps = []

    with pytest.raises(StoreWriteError) as raised:
        platform(sleeps).client(SHOP).get("webhooks")

    assert raised.value.retryable is True
    assert len(responses.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]


@responses.activate
def test_429_honours_retry_after():
    responses.get(API + "webhooks", status=429, headers={"Retry-After": "7"})
    responses.get(API + "webhooks", json=[])
    sleeps = []

    platform(sleeps).client(SHOP).get("webhooks")

    assert sleeps == [7.0]


@responses.activate
def test_network_errors_are_retried():
    responses.get(API + "webhooks", body=requests.ConnectionError("refused"))
    responses.get(API + "webhooks", body=requests.ReadTimeout("slow"))
    responses.get(API + "webhooks", json=[])
    sleeps = []

    assert platform(sleeps).client(SHOP).get("webhooks") == []
    assert sleeps == [0.5, 1.0]


@responses.activate
def test_400_is_not_retried_and_keeps_woocommerce_code():
    responses.post(API + "coupons", status=400, json=error("rest_invalid_param", 400))
    sleeps = []

    with pytest.raises(WooRequestError) as raised:
        platform(sleeps).client(SHOP).post("coupons", {"code": "x"})

    assert (raised.value.retryable, raised.value.status, raised.value.code) == (False, 400, "rest_invalid_param")
    assert len(responses.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_401_and_403_raise_auth_error_without_retry(status):
    responses.get(API + "orders", status=status, json=error("woocommerce_rest_authentication_error", status))
    sleeps = []

    with pytest.raises(StoreAuthError) as raised:
        platform(sleeps).client(SHOP).get("orders")

    assert raised.value.retryable is False
    assert "cs_test" not in str(raised.value)
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_redirect_is_not_followed():
    responses.post(API + "coupons", status=301, headers={"Location": "https://www.shop.example/wp-json/wc/v3/coupons"})

    with pytest.raises(WooRequestError) as raised:
        WooCommercePlatform().client(SHOP).post("coupons", {"code": "x"})

    assert raised.value.status == 301
    assert len(responses.calls) == 1


@responses.activate
def test_html_answer_is_a_terminal_error():
    responses.get(API + "orders", body="<html>permalinks</html>", content_type="text/html")

    with pytest.raises(StoreWriteError) as raised:
        WooCommercePlatform().client(SHOP).get("orders")

    assert raised.value.retryable is False


def test_missing_keys_raise_auth_error():
    shop = SHOP.__class__(shop_id=3, platform="woocommerce", domain="https://x.example", credentials={})

    with pytest.raises(StoreAuthError):
        WooCommercePlatform().client(shop)
