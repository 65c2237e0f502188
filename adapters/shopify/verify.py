"""Webhook signature and delivery headers. Pure functions, never raising on bad input.

Hand-written rather than `shopify_app.verify_webhook_req`: that helper takes the body as `str`
(it re-encodes it, so bytes that are not UTF-8 cannot be checked exactly), accepts at most two
secrets, and wraps the answer in HTTP response objects the ingest does not need.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from integration.events import Delivery
from integration.ports import PayloadError

from .amounts import timestamp

HMAC_HEADERS = ("x-shopify-hmac-sha256", "shopify-hmac-sha256")
ID_HEADERS = ("x-shopify-webhook-id", "shopify-webhook-id", "x-shopify-event-id", "shopify-event-id")
EXTRA_HEADERS = {
    "api_version": ("x-shopify-api-version", "shopify-api-version"),
    "triggered_at": ("x-shopify-triggered-at", "shopify-triggered-at"),
    "event_id": ("x-shopify-event-id", "shopify-event-id"),
    "subscription_name": ("x-shopify-name", "shopify-name"),
}


def header(headers: Mapping[str, str], names: Sequence[str]) -> str | None:
    """First non-empty header among `names`, compared case-insensitively (Shopify says to)."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name)
        if value:
            return str(value).strip()
    return None


def body_hmac(body: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def verify_webhook(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
    """True if the base64 HMAC-SHA256 of the raw body matches under any secret (current and
    previous during a rotation). Every secret is tried, so timing does not reveal which matched."""
    try:
        received = base64.b64decode(header(headers, HMAC_HEADERS) or "", validate=True)
        if not received or not isinstance(body, bytes | bytearray):
            return False
        matches = [hmac.compare_digest(received, body_hmac(bytes(body), s)) for s in secrets if s]
        return any(matches)
    except (binascii.Error, ValueError, TypeError, AttributeError):
        return False


def inspect_delivery(headers: Mapping[str, str], body: bytes) -> Delivery:
    """Delivery id (webhook id, else event id, else the body's sha256), topic and shop domain."""
    delivery_id = header(headers, ID_HEADERS) or "sha256:" + hashlib.sha256(body).hexdigest()
    shop = header(headers, ("x-shopify-shop-domain", "shopify-shop-domain"))
    extra = {key: value for key, names in EXTRA_HEADERS.items() if (value := header(headers, names))}
    return Delivery(
        delivery_id=delivery_id,
        topic=(header(headers, ("x-shopify-topic", "shopify-topic")) or "").lower(),
        shop_domain=shop.lower() if shop else None,
        extra=extra,
    )


def triggered_at(delivery: Delivery) -> datetime | None:
    """The delivery's X-Shopify-Triggered-At as UTC, or None if absent or malformed."""
    raw = delivery.extra.get("triggered_at")
    try:
        return timestamp(raw) if raw else None
    except PayloadError:
        return None
