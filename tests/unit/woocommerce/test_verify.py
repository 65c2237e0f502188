"""Webhook signature (vectors from tests/fixtures/woocommerce/vectors.md), ping and delivery headers."""
import hashlib

import pytest

from adapters.woocommerce import WooCommercePlatform
from adapters.woocommerce.verify import decode_secret, inspect, is_ping, ping_webhook_id, signature, verify

VECTOR_4_BODY = (b'{"id":723,"billing":{"first_name":"Jo\\u00e3o"},"_links":{"self":[{"href":'
                 b'"https:\\/\\/example.com\\/wp-json\\/wc\\/v3\\/orders\\/723"}]}}')
VECTOR_4_PYTHON_BODY = ('{"id":723,"billing":{"first_name":"João"},"_links":{"self":[{"href":'
                        '"https://example.com/wp-json/wc/v3/orders/723"}]}}').encode("utf-8")
VECTORS = [
    ("", b"secret", "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs="),  # WooCommerce's own PHPUnit vector
    ("secret", b'{"id":727}', "UtiK1DTZewPTdDmUeS7YHg+QGcWcgW08Tnjy5YKijZ0="),
    ("my-webhook-secret", b'{"action":"woocommerce_payment_complete","arg":727}',
     "MTH0kCFD6vbomFztmDV5RAOjaJHKcQ4REfr0Hm6c3rQ="),
    ("my-webhook-secret", VECTOR_4_BODY, "FxSulom7+BufpCz01Y9ZFjiDzExZ727mTl8vAogbee4="),
    ("a&amp;b", b'{"id":1}', "DZZ3mhyNjKxgGYJPujiR4ZGjbQJd9qbIQuhcMQ11PTE="),  # stored secret, decoded to a&b
]


@pytest.mark.parametrize(("secret", "body", "expected"), VECTORS)
def test_signature_matches_vectors(secret, body, expected):
    assert signature(secret, body) == expected


@pytest.mark.parametrize(("secret", "body", "expected"), VECTORS[1:])
def test_verify_accepts_vector_and_rejects_one_changed_byte(secret, body, expected):
    headers = {"X-WC-Webhook-Signature": expected}
    changed = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]

    assert verify(headers, body, [secret]) is True
    assert verify(headers, changed, [secret]) is False


def test_verify_rejects_python_reserialized_body():
    headers = {"X-WC-Webhook-Signature": "FxSulom7+BufpCz01Y9ZFjiDzExZ727mTl8vAogbee4="}

    assert verify(headers, VECTOR_4_PYTHON_BODY, ["my-webhook-secret"]) is False
    assert signature("my-webhook-secret", VECTOR_4_PYTHON_BODY) == "e7ebX6ZWPCjnhzmV16/NfJGm7nFqRGJQ6PPseLcHMBY="


def test_undecoded_secret_signature_is_not_what_woocommerce_sends():
    headers = {"X-WC-Webhook-Signature": "wFkif9W0p9iFrSrPziBUOplmp9wyLYoXWO2wnc5UpwQ="}

    assert verify(headers, b'{"id":1}', ["a&amp;b"]) is False


def test_verify_refuses_the_empty_secret_even_with_a_valid_signature():
    assert verify({"X-WC-Webhook-Signature": VECTORS[0][2]}, b"secret", [""]) is False


@pytest.mark.parametrize("name", ["x-wc-webhook-signature", "X-WC-WEBHOOK-SIGNATURE", "X-Wc-Webhook-Signature"])
def test_verify_reads_header_in_any_case(name):
    assert verify({name: VECTORS[1][2]}, VECTORS[1][1], ["secret"]) is True


def test_verify_accepts_previous_secret():
    assert verify({"X-WC-Webhook-Signature": VECTORS[1][2]}, VECTORS[1][1], ["new-secret", "secret"]) is True


@pytest.mark.parametrize(("headers", "body", "secrets"), [
    ({}, b'{"id":727}', ["secret"]),
    ({"X-WC-Webhook-Signature": ""}, b'{"id":727}', ["secret"]),
    ({"X-WC-Webhook-Signature": "sïgnature"}, b'{"id":727}', ["secret"]),
    ({"X-WC-Webhook-Signature": VECTORS[1][2]}, '{"id":727}', ["secret"]),
    ({"X-WC-Webhook-Signature": VECTORS[1][2]}, None, ["secret"]),
    ({"X-WC-Webhook-Signature": VECTORS[1][2]}, b'{"id":727}', []),
    ({"X-WC-Webhook-Signature": VECTORS[1][2]}, b'{"id":727}', [None, 5]),
    (None, b'{"id":727}', ["secret"]),
])
def test_verify_returns_false_on_bad_input(headers, body, secrets):
    assert verify(headers, body, secrets) is False


def test_decode_secret_follows_wp_specialchars_decode():
    assert decode_secret("a&amp;b&#39;c&#x0022;d&lt;e") == "a&b'c\"d<e"
    assert decode_secret("&amp;lt;") == "&lt;"  # one pass, as PHP strtr
    assert decode_secret("Abc123") == "Abc123"


def test_ping_is_recognised():
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "WooCommerce/9.0 Hookshot"}

    assert is_ping(headers, b"webhook_id=142") is True
    assert ping_webhook_id(headers, b"webhook_id=142\n") == "142"
    assert WooCommercePlatform.is_ping(headers, b"webhook_id=142") is True


@pytest.mark.parametrize(("headers", "body"), [
    ({"X-WC-Webhook-Topic": "order.updated"}, b"webhook_id=142"),
    ({"x-wc-webhook-signature": "abc"}, b"webhook_id=142"),
    ({}, b"webhook_id=abc"),
    ({}, b"webhook_id=142&x=1"),
    ({}, b'{"id":142}'),
    ({}, b""),
])
def test_non_pings_are_not_pings(headers, body):
    assert is_ping(headers, body) is False


def full_headers(**overrides):
    headers = {
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Signature": "ignored-here",
        "X-WC-Webhook-ID": "142",
        "X-WC-Webhook-Delivery-ID": "039f3155b209b1c591c26f60004d889f",
    }
    headers.update(overrides)
    return headers


def test_inspect_reads_woocommerce_headers():
    body = b'{"id":727}'

    delivery = inspect(full_headers(), body)

    digest = hashlib.sha256(body).hexdigest()
    assert delivery.delivery_id == f"142:039f3155b209b1c591c26f60004d889f:{digest[:32]}"
    assert delivery.topic == "order.updated"
    assert delivery.shop_domain is None
    assert delivery.extra == {"source": "https://shop.example/", "resource": "order", "event": "updated",
                              "webhook_id": "142"}


def test_inspect_tells_apart_two_orders_delivered_in_the_same_second():
    first = inspect(full_headers(), b'{"id":727}')
    second = inspect(full_headers(), b'{"id":728}')
    again = inspect({key.lower(): value for key, value in full_headers().items()}, b'{"id":727}')

    assert first.delivery_id != second.delivery_id
    assert again.delivery_id == first.delivery_id


def test_inspect_without_woocommerce_headers_uses_body_hash():
    delivery = inspect({}, b'{"id":727}')

    assert delivery.delivery_id == "sha256:" + hashlib.sha256(b'{"id":727}').hexdigest()
    assert delivery.topic == ""
    assert delivery.extra == {"source": "", "resource": "", "event": "", "webhook_id": ""}


def test_inspect_builds_topic_from_resource_and_event_when_topic_header_is_missing():
    headers = full_headers()
    del headers["X-WC-Webhook-Topic"]

    assert inspect(headers, b"{}").topic == "order.updated"
