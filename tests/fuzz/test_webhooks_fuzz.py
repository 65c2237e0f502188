"""Webhook endpoints under generated bad input: bad signatures, truncated, mistyped or oversized
JSON, odd headers and unknown shops. Never a 500; a stored delivery only when the signature is
right and the shop is ours; the worker never crashes on what was stored."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from integration.db.tables import inbox, ledger_entries
from tests.fuzz.conftest import FUZZ_EXAMPLES, SHOPIFY_SECRET, WOO_SECRET
from webhooks.inbox import Worker

FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "orders_paid.json").read_bytes())
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=10)


@st.composite
def bodies(draw) -> bytes:  # type: ignore[no-untyped-def]
    text = json.dumps(FIXTURE).encode()
    kind = draw(st.sampled_from(["truncated", "mistyped", "random", "json"]))
    if kind == "truncated":
        return text[:draw(st.integers(0, len(text) - 1))]
    if kind == "mistyped":
        field = draw(st.sampled_from(sorted(FIXTURE)))
        return json.dumps({**FIXTURE, field: draw(json_values)}).encode()
    if kind == "random":
        return draw(st.binary(max_size=300))
    return json.dumps(draw(json_values)).encode()


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def counts(runtime) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with runtime.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(inbox)).scalar_one(),
                conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one())


def drain_without_crash(runtime) -> None:  # type: ignore[no-untyped-def]
    Worker(runtime.db, runtime.platforms).drain(runtime.clock())
    with runtime.db.read() as conn:
        assert set(conn.execute(select(inbox.c.status).distinct()).scalars()) <= {"done", "failed"}


@FUZZ
@given(body=bodies(), signed=st.sampled_from(["right", "wrong", "missing"]),
       shop=st.sampled_from(["fuzz.myshopify.com", "other.myshopify.com", "", "not a domain"]),
       topic=st.sampled_from(["orders/paid", "refunds/create", "app/uninstalled", "ORDERS/PAID", "", "x" * 300]),
       prefix=st.sampled_from(["X-Shopify-", "Shopify-"]))
def test_shopify_webhook_never_fails_and_stores_only_what_it_should(fuzz_app, body, signed, shop, topic, prefix):  # type: ignore[no-untyped-def]
    before = counts(fuzz_app.runtime)
    headers = {f"{prefix}Topic": topic, f"{prefix}Shop-Domain": shop, f"{prefix}Webhook-Id": hashlib.md5(body).hexdigest(),
               "Content-Type": "application/json"}
    if signed != "missing":
        headers[f"{prefix}Hmac-Sha256"] = signature(SHOPIFY_SECRET if signed == "right" else "forged", body)
    answer = fuzz_app.client.post("/webhooks/shopify", data=body, headers=headers)
    assert answer.status_code in (200, 400, 401), answer.data
    assert answer.is_json
    after = counts(fuzz_app.runtime)
    if answer.status_code != 200 or answer.get_json()["status"] != "stored":
        assert after[0] == before[0]  # nothing stored
    if signed != "right":
        assert answer.status_code in (400, 401)
    drain_without_crash(fuzz_app.runtime)


@FUZZ
@given(body=bodies(), signed=st.booleans(), shop=st.sampled_from(["own", "unknown", "text"]),
       headers=st.dictionaries(st.sampled_from(["X-WC-Webhook-Topic", "X-WC-Webhook-Delivery-ID", "X-WC-Webhook-ID",
                                                "X-WC-Webhook-Resource", "X-WC-Webhook-Event"]),
                               st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)))
def test_woocommerce_webhook_never_fails(fuzz_app, body, signed, shop, headers):  # type: ignore[no-untyped-def]
    before = counts(fuzz_app.runtime)
    path = {"own": f"/webhooks/woocommerce/{fuzz_app.shop_ids['woocommerce']}", "unknown": "/webhooks/woocommerce/999",
            "text": "/webhooks/woocommerce/abc"}[shop]
    sent = {**headers, "X-WC-Webhook-Signature": signature(WOO_SECRET if signed else "forged", body),
            "Content-Type": "application/json"}
    answer = fuzz_app.client.post(path, data=body, headers=sent)
    assert answer.status_code in (200, 400, 401, 404), answer.data
    if not signed or shop != "own":
        assert counts(fuzz_app.runtime)[0] == before[0]
    drain_without_crash(fuzz_app.runtime)


def test_an_oversized_delivery_gets_413_json(fuzz_app):  # type: ignore[no-untyped-def]
    limit = fuzz_app.runtime.settings.server.max_body_bytes
    body = b" " * (limit + 1)
    answer = fuzz_app.client.post("/webhooks/shopify", data=body, headers={
        "X-Shopify-Topic": "orders/paid", "X-Shopify-Shop-Domain": "fuzz.myshopify.com",
        "X-Shopify-Hmac-Sha256": signature(SHOPIFY_SECRET, body)})
    assert (answer.status_code, answer.get_json()) == (413, {
        "error": f"the request body is larger than {limit} bytes (server.max_body_bytes)"})
    assert counts(fuzz_app.runtime) == (0, 0)


def test_unknown_platform_and_methods_are_clear(fuzz_app):  # type: ignore[no-untyped-def]
    assert fuzz_app.client.post("/webhooks/nosuch", data=b"{}").status_code == 404
    assert fuzz_app.client.get("/webhooks/shopify").status_code == 405
