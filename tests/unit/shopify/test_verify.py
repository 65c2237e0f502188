"""Webhook HMAC against Shopify's published vectors (fixtures/shopify/vectors.md §B)."""
from pathlib import Path

import pytest

from adapters.shopify import ShopifyPlatform
from adapters.shopify.verify import triggered_at
from integration.events import Delivery

FIXTURES = Path(__file__).parents[2] / "fixtures" / "shopify"
platform = ShopifyPlatform()

VECTORS = [  # (body, secret, header value)
    (b'{"foo":"bar"}', "steffi", "/Redz4YXHLnSmmSN8grr5/Jl/Ua3d7yX3iWbjb8R8wo="),  # B1 shopify-api-php
    (b"foo=anything", "secret", "yCGX/RrK4fcuNtr3ztk5tQGsOBjcAzHpGLdMUrbV8yI="),  # B2 shopify_app gem
    (b"foo=anything", "old_secret", "XqRcjrSv57VACn6apEO9znyu/wkN1VC7QxdSPwK3Hzs="),  # B2 old secret
    (b'{"shop_id":954889,"shop_domain":"{shop}.myshopify.com"}', "hush", "1ZkWm9gpyI+Zsjon2nUm8nnAH7b3L7SlOH1XnEEuq7o="),
    (b'{"shop_id":954889,"shop_domain":"{shop}.myshopify.com"}\n', "hush", "kF51lUmKL9CJaZgpFTQcKMfH/AkKccYQN9dD05lk0jk="),
]
FILE_VECTORS = [  # B3, key "hush"
    ("orders_paid.json", "m+qd3F3u8M761qG3p0OHbUzbCUYsBnSSbaT/ghy4Nk0="),
    ("refunds_create.json", "BdcddDDejfrl9PxNrndtl6IGti5mw3+aqLwXRx0f+6Q="),
    ("customers_redact.json", "gMgpnNqCQMYwuTRRWyebW11zQH4MUCOZsK9VkPK2TFw="),
    ("shop_redact.json", "Kbbu7606o0W+MAMZj4PbzE/y2m8BZX+oA4gXQWbvzxU="),
    ("customers_data_request.json", "/hsCuKyLLGG8aIbMUfLLD7N9zZyo3rL4bg3J/nC2SQY="),
]


def all_vectors():
    yield from VECTORS
    for name, signature in FILE_VECTORS:
        yield (FIXTURES / name).read_bytes(), "hush", signature


@pytest.mark.parametrize("body, secret, signature", list(all_vectors()))
def test_official_vector_verifies(body, secret, signature):
    assert platform.verify({"X-Shopify-Hmac-Sha256": signature}, body, [secret])


@pytest.mark.parametrize("body, secret, signature", list(all_vectors()))
def test_one_changed_byte_fails(body, secret, signature):
    tampered = bytes([body[0] ^ 0x01]) + body[1:]
    assert not platform.verify({"X-Shopify-Hmac-Sha256": signature}, tampered, [secret])


def test_trailing_newline_changes_the_signature():
    body, _, signature = VECTORS[3]
    assert not platform.verify({"X-Shopify-Hmac-Sha256": signature}, body + b"\n", ["hush"])


def test_previous_secret_is_accepted_during_rotation():
    body, _, signature = VECTORS[2]
    assert platform.verify({"X-Shopify-Hmac-Sha256": signature}, body, ["secret", "old_secret"])
    assert not platform.verify({"X-Shopify-Hmac-Sha256": signature}, body, ["secret"])


@pytest.mark.parametrize("name", ["x-shopify-hmac-sha256", "X-SHOPIFY-HMAC-SHA256", "Shopify-Hmac-Sha256", "shopify-hmac-sha256"])
def test_header_name_in_any_case_and_without_x_prefix(name):
    body, secret, signature = VECTORS[0]
    assert platform.verify({name: signature}, body, [secret])


@pytest.mark.parametrize("headers, secrets", [
    ({}, ["steffi"]),
    ({"X-Shopify-Hmac-Sha256": ""}, ["steffi"]),
    ({"X-Shopify-Hmac-Sha256": "not base64!!"}, ["steffi"]),
    ({"X-Shopify-Hmac-Sha256": "/Redz4YXHLnSmmSN8grr5/Jl/Ua3d7yX3iWbjb8R8wo="}, []),
    ({"X-Shopify-Hmac-Sha256": "/Redz4YXHLnSmmSN8grr5/Jl/Ua3d7yX3iWbjb8R8wo="}, [""]),
])
def test_bad_input_is_false_not_an_exception(headers, secrets):
    assert platform.verify(headers, b'{"foo":"bar"}', secrets) is False


def test_inspect_reads_delivery_headers():
    headers = {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Shop-Domain": "Jsmith.MyShopify.com",
        "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Triggered-At": "2026-11-20T08:00:00.123456789Z",
    }
    delivery = platform.inspect(headers, b"{}")
    assert delivery == Delivery(
        delivery_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        topic="orders/paid",
        shop_domain="jsmith.myshopify.com",
        extra={"api_version": "2026-10", "triggered_at": "2026-11-20T08:00:00.123456789Z",
               "event_id": "98880550-7158-44d4-b7cd-2c97c8a091b5"},
    )
    assert triggered_at(delivery).isoformat() == "2026-11-20T08:00:00.123456+00:00"


def test_inspect_events_preview_headers_fall_back_to_event_id():
    delivery = platform.inspect({"shopify-topic": "orders/paid", "shopify-event-id": "ev-1"}, b"{}")
    assert (delivery.delivery_id, delivery.topic, delivery.shop_domain) == ("ev-1", "orders/paid", None)


def test_inspect_without_any_id_uses_the_body_hash():
    delivery = platform.inspect({"X-Shopify-Topic": "shop/redact"}, b"{}")
    assert delivery.delivery_id == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
