"""OAuth query HMAC, callback checks, app proxy signature and session tokens against the
vectors in fixtures/shopify/vectors.md (§A, §C, §D), with frozen clocks."""
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from adapters.shopify.auth import (
    Callback,
    InstallError,
    ProxyRequest,
    check_callback,
    decode_session_token,
    install_url,
    sanitize_shop_domain,
    verify_app_proxy,
    verify_query_hmac,
)

# The vector's secret ("API Secret") is shorter than PyJWT's recommended 32 bytes; real Shopify
# client secrets are longer, so the warning is silenced for these vectors only.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

A1 = {"shop": "some-shop.myshopify.com", "code": "a94a110d86d2452eb3e2af4cfb8a3828", "timestamp": "1337178173",
      "hmac": "2cb1a277650a659f1b11e92a4a64275b128e037f2c3390e3c8fd2d8721dac9e2"}
A4 = {"code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com", "state": "0.6784241404160823",
      "timestamp": "1337178173", "hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"}
A4_NO_STATE = {k: v for k, v in A4.items() if k != "state"} | {
    "hmac": "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"}
A6 = {"code": "somecode", "host": "host", "shop": "some-shop.myshopify.com", "state": "1234", "timestamp": "123456",
      "hmac": "d7591e2c6e30a97f3eacf1f824ef316842a1b0f3dde947b5043d5331e42086fd"}
A7 = {"custom": "hello world", "shop": "myshop.myshopify.com", "timestamp": "1700000000",
      "hmac": "0a3f0b1091a26eab3ab75d96d4cdbba10a3f06e015b95cc989656ddf6c1ce1d9"}


@pytest.mark.parametrize("params, secret, now", [
    (A1, "hush", 1337178173),
    (A4, "hush", 1337178173 + 90),
    (A4_NO_STATE, "hush", 1337178173 - 90),
    (A6, "API_SECRET_KEY", 123456),
    (A7, "my super secret key", 1700000000),
    ({"shop": "some-shop.myshopify.com", "ids[]": ["2", "1"], "timestamp": "1",
      "hmac": "b93b9f82996f6f8bf9f1b7bbddec284c8fabacdc4e12dc80550b4705f3003b1e"}, "hush", None),
])
def test_official_query_vectors(params, secret, now):
    if now is None:  # A2 is signed without a timestamp: check the message alone
        from adapters.shopify.auth import _hex_hmac, query_messages

        params = {k: v for k, v in params.items() if k != "timestamp"}
        assert _hex_hmac(secret, 'ids=["2", "1"]&shop=some-shop.myshopify.com') == params["hmac"]
        assert 'ids=["2", "1"]&shop=some-shop.myshopify.com' in query_messages(params)
        return
    assert verify_query_hmac(params, [secret], now=now)


def test_ampersand_and_equals_are_escaped():
    from adapters.shopify.auth import query_messages

    assert "a=1%26b=2&c%3D3%26d=4" in query_messages({"a": "1&b=2", "c=3&d": "4"})  # A3


def test_space_signed_as_plus_is_rejected():
    wrong = dict(A7, hmac="cd76ccf0fecf8fce5ff77a3fdfb0c91c3ef23035866bd35e330dcc5e8d246ade")
    assert not verify_query_hmac(wrong, ["my super secret key"], now=1700000000)


def test_unsorted_php_vector_is_not_accepted():  # A5: only valid for the unsorted message
    params = {"shop": "test-shop.myshopify.io", "state": "1234", "code": "real_code", "timestamp": "5",
              "hmac": "0b19b6077391191829e442a97aafd7730323041e585f738415a77894c41c0a5b"}
    assert not verify_query_hmac(params, ["steffi"], now=5)


@pytest.mark.parametrize("change", [{"shop": "evil.myshopify.com"}, {"hmac": "0" * 64}, {"timestamp": "1337178174"}])
def test_tampered_query_fails(change):
    assert not verify_query_hmac(A1 | change, ["hush"], now=1337178173)


def test_stale_timestamp_fails():
    assert not verify_query_hmac(A4, ["hush"], now=1337178173 + 91)


def test_previous_secret_verifies_query():
    assert verify_query_hmac(A1, ["rotated", "hush"], now=1337178173)


def test_callback_checks_state_then_returns_shop_and_code():
    result = check_callback(A4, ["hush"], "0.6784241404160823", now=1337178173)
    assert result == Callback(shop="some-shop.myshopify.com", code="0907a61c0c8d55e99db179b68161bc00")


@pytest.mark.parametrize("state, now, reason", [
    ("another-nonce", 1337178173, "state"),
    ("", 1337178173, "state"),
    ("0.6784241404160823", 1337178173 + 3600, "hmac or timestamp"),
])
def test_callback_rejections(state, now, reason):
    with pytest.raises(InstallError, match=reason):
        check_callback(A4, ["hush"], state, now=now)


def test_install_url_for_offline_token():
    url = install_url("x.myshopify.com", "key", "https://app.example/cb", "nonce", ["read_orders", "write_discounts"])
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("x.myshopify.com", "/admin/oauth/authorize")
    assert parse_qs(parts.query) == {"client_id": ["key"], "scope": ["read_orders,write_discounts"],
                                     "redirect_uri": ["https://app.example/cb"], "state": ["nonce"]}


def test_install_url_online_adds_per_user_grant():
    assert "grant_options%5B%5D=per-user" in install_url("x.myshopify.com", "k", "https://a/cb", "s", online=True)


@pytest.mark.parametrize("raw, expected", [
    ("Shop-1.MyShopify.com", "shop-1.myshopify.com"),
    ("https://shop-1.myshopify.com/", "shop-1.myshopify.com"),
    ("admin.shopify.com/store/shop-1", "shop-1.myshopify.com"),
    ("shop-1.myshopify.com.evil.com", None),
    ("-shop.myshopify.com", None),
    ("shop_1.myshopify.com", None),
    ("", None),
    (None, None),
])
def test_sanitize_shop_domain(raw, expected):
    assert sanitize_shop_domain(raw) == expected


def test_dev_domain_allowed_only_through_the_hook():
    assert sanitize_shop_domain("dev.shop.dev") is None
    assert sanitize_shop_domain("dev.shop.dev", allowed_suffixes=[".shop.dev"]) == "dev.shop.dev"


# -- app proxy (§C1, shopify.dev) ----------------------------------------------------------------
PROXY = ("extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews"
         "&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb")
PROXY_ANONYMOUS = ("extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=&path_prefix=%2Fapps%2Fawesome_reviews"
                   "&timestamp=1317327555&signature=e072b6d7e6622d85912a5214b860d3100dc1e73d9bc29f43796ac8c9ff8093cb")


def test_app_proxy_logged_in_vector():
    assert verify_app_proxy(PROXY, ["hush"], now=1317327555) == ProxyRequest("shop-name.myshopify.com", "1", "/apps/awesome_reviews")


def test_app_proxy_anonymous_vector():
    assert verify_app_proxy(PROXY_ANONYMOUS, ["hush"], now=1317327600) == ProxyRequest("shop-name.myshopify.com", None, "/apps/awesome_reviews")


@pytest.mark.parametrize("query, now", [
    (PROXY.replace("logged_in_customer_id=1", "logged_in_customer_id=2"), 1317327555),
    (PROXY.replace("extra=2", "extra=3"), 1317327555),
    (PROXY, 1317327555 + 91),
    (PROXY + "&shop=other.myshopify.com", 1317327555),
    (PROXY + "&timestamp=1317327555", 1317327555),
    (PROXY.replace("timestamp=1317327555", "timestamp=1317327555.0"), 1317327555),
    (PROXY.replace("&signature=", "&sig="), 1317327555),
])
def test_app_proxy_rejections(query, now):
    assert verify_app_proxy(query, ["hush"], now=now) is None


# -- session token (§D1) -------------------------------------------------------------------------
D1 = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL3Rlc3Qtc2hvcC5teXNob3BpZnkuY29tL2FkbWluIiwiZGVzdCI6Imh0dHBz"
      "Oi8vdGVzdC1zaG9wLm15c2hvcGlmeS5jb20iLCJhdWQiOiJBUEkga2V5Iiwic3ViIjoiMSIsImV4cCI6MTcwMDAwMDA2MCwibmJmIjoxNzAwMDAwMDAw"
      "LCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjQzMjEiLCJzaWQiOiJhYmMxMjMifQ.gIC8h23ad3cP_3z3XNME2RkComdOegedsjI317bIWLw")
CLAIMS = {"iss": "https://test-shop.myshopify.com/admin", "dest": "https://test-shop.myshopify.com", "aud": "API key",
          "sub": "1", "exp": 1700000060, "nbf": 1700000000, "iat": 1700000000, "jti": "4321", "sid": "abc123"}


def test_session_token_vector_decodes():
    token = decode_session_token("Bearer " + D1, "API key", ["API Secret"], now=1700000030)
    assert (token.shop, token.user_id, token.session_id, token.expires_at) == ("test-shop.myshopify.com", "1", "abc123", 1700000060)
    assert token.token == D1


@pytest.mark.parametrize("now", [1700000000 - 10, 1700000060 + 10])
def test_session_token_leeway_is_ten_seconds(now):
    assert decode_session_token(D1, "API key", ["API Secret"], now=now).shop == "test-shop.myshopify.com"


@pytest.mark.parametrize("now", [1700000000 - 11, 1700000060 + 11])
def test_session_token_outside_leeway_fails(now):
    with pytest.raises(InstallError, match="expired"):
        decode_session_token(D1, "API key", ["API Secret"], now=now)


def signed(changes=None, algorithm="HS256"):
    return jwt.encode(CLAIMS | (changes or {}), None if algorithm == "none" else "API Secret", algorithm=algorithm)


@pytest.mark.parametrize("make_token, api_key, secret", [
    (lambda: D1, "other key", "API Secret"),
    (lambda: D1, "API key", "wrong secret"),
    (lambda: D1[:-2] + "xx", "API key", "API Secret"),
    (lambda: signed({"iss": "https://other.myshopify.com/admin"}), "API key", "API Secret"),
    (lambda: signed({"dest": "https://evil.example.com", "iss": "https://evil.example.com/admin"}), "API key", "API Secret"),
    (lambda: signed(algorithm="none"), "API key", "API Secret"),
    (lambda: signed(algorithm="HS512"), "API key", "API Secret"),
])
def test_session_token_rejections(make_token, api_key, secret):
    with pytest.raises(InstallError):
        decode_session_token(make_token(), api_key, [secret], now=1700000030)


def test_session_token_with_previous_secret():
    assert decode_session_token(D1, "API key", ["new secret", "API Secret"], now=1700000030).user_id == "1"
