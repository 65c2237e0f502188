"""Connect flow: the authorize URL and the key callback (fixture auth_callback_post.json)."""
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.woocommerce.auth import KeysReceived, authorize_url, parse_callback
from integration.ports import PayloadError
from tests.woocommerce_contract import fixture, fixture_bytes


def test_authorize_url_carries_the_five_parameters():
    url = authorize_url("shop.example/", app_name="Loyalty Bridge", state="st_9f8e",
                        return_url="https://app.example/woo/done", callback_url="https://app.example/woo/keys?s=1")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "shop.example", "/wc-auth/v1/authorize")
    assert parse_qs(parts.query) == {"app_name": ["Loyalty Bridge"], "scope": ["read_write"], "user_id": ["st_9f8e"],
                                     "return_url": ["https://app.example/woo/done"],
                                     "callback_url": ["https://app.example/woo/keys?s=1"]}


def test_authorize_url_refuses_http_callback():
    with pytest.raises(ValueError):
        authorize_url("https://shop.example", app_name="x", state="s", return_url="https://a/b",
                      callback_url="http://app.example/keys")


def test_callback_fixture_is_parsed():
    received = parse_callback(fixture_bytes("auth_callback_post.json"), expected_state="123")

    assert received == KeysReceived(key_id="1", state="123", consumer_key="ck_xxxxxxxxxxxxxxxx",
                                    consumer_secret="cs_xxxxxxxxxxxxxxxx", permissions="read_write")
    assert "cs_" not in repr(received)


@pytest.mark.parametrize("change", [
    {"consumer_key": "xx"},
    {"consumer_secret": ""},
    {"key_permissions": "read"},
    {"user_id": None},
    {"key_id": True},
])
def test_bad_callbacks_raise_payload_error(change):
    payload = {**fixture("auth_callback_post.json"), **change}

    with pytest.raises(PayloadError):
        parse_callback(json.dumps(payload).encode())


@pytest.mark.parametrize("body", [b"not json", b"[]", b"\xff"])
def test_unreadable_callbacks_raise_payload_error(body):
    with pytest.raises(PayloadError):
        parse_callback(body)


def test_callback_for_another_state_is_refused():
    with pytest.raises(PayloadError):
        parse_callback(fixture_bytes("auth_callback_post.json"), expected_state="124")
