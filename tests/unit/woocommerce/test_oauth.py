"""OAuth 1.0a query signature for http stores, cross-checked with the official client's signer."""
import pytest
from woocommerce.oauth import OAuth

from adapters.woocommerce.oauth import signature, signed_params

URL = "http://127.0.0.1:8080/wp-json/wc/v3/orders"


@pytest.mark.parametrize("params", [
    {"per_page": "100", "page": "2", "modified_after": "2024-01-01T00:00:00", "dates_are_gmt": "1"},
    {"search": "joao.silva@example.com"},
    {"code": "lb ab+12~x"},
    {},
])
def test_signature_matches_official_client(params):
    oauth_params = {**params, "oauth_consumer_key": "ck_test", "oauth_timestamp": "1700000000",
                    "oauth_nonce": "abc123", "oauth_signature_method": "HMAC-SHA256"}
    official = OAuth(url=URL, consumer_key="ck_test", consumer_secret="cs_test", version="wc/v3", method="GET")

    assert signature("GET", URL, oauth_params, "cs_test") == official.generate_oauth_signature(dict(oauth_params), URL)


def test_slash_in_a_value_is_encoded_like_php_rawurlencode():
    base = {"oauth_consumer_key": "k", "oauth_timestamp": "1", "oauth_nonce": "n", "oauth_signature_method": "HMAC-SHA256"}

    assert signature("GET", URL, {**base, "x": "a/b"}, "s") != signature("GET", URL, {**base, "x": "a%2Fb"}, "s")


def test_signed_params_add_oauth_fields_once():
    signed = signed_params("GET", URL, {"page": 1, "dates_are_gmt": True}, consumer_key="ck_test",
                           consumer_secret="cs_test", timestamp=1700000000, nonce="abc123")

    unsigned = {key: value for key, value in signed.items() if key != "oauth_signature"}
    assert unsigned == {"page": "1", "dates_are_gmt": "1", "oauth_consumer_key": "ck_test",
                        "oauth_timestamp": "1700000000", "oauth_nonce": "abc123",
                        "oauth_signature_method": "HMAC-SHA256"}
    assert signed["oauth_signature"] == signature("GET", URL, unsigned, "cs_test")


def test_fresh_nonce_when_none_given():
    first = signed_params("GET", URL, {}, consumer_key="k", consumer_secret="s", timestamp=1)
    second = signed_params("GET", URL, {}, consumer_key="k", consumer_secret="s", timestamp=1)

    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert len(first["oauth_nonce"]) == 40
