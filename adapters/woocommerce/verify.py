"""Webhook signature, creation ping and delivery headers. Pure functions, standard library only.

WooCommerce signs a delivery as `base64(HMAC-SHA256(key, raw body))` in `X-WC-Webhook-Signature`,
where the key is the stored secret after `wp_specialchars_decode(secret, ENT_QUOTES)`
(class-wc-webhook.php `generate_signature()`). The creation ping is unsigned: `webhook_id=<id>`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

from integration.events import Delivery

SIGNATURE_HEADER = "x-wc-webhook-signature"
_PING_BODY = re.compile(rb"\Awebhook_id=(\d+)\Z")

# wp_specialchars_decode(..., ENT_QUOTES): first fold numeric variants to one spelling, then one
# strtr() pass, so "&amp;lt;" becomes "&lt;" (not "<") exactly as in PHP.
_NUMERIC_VARIANTS = (
    (re.compile(r"&#0*39;"), "&#039;"),
    (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
    (re.compile(r"&#0*34;"), "&#034;"),
    (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
    (re.compile(r"&#0*60;"), "&#060;"),
    (re.compile(r"&#0*62;"), "&#062;"),
    (re.compile(r"&#0*38;"), "&#038;"),
    (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"),
)
_ENTITIES = {
    "&#039;": "'", "&#x27;": "'",
    "&quot;": '"', "&#034;": '"', "&#x22;": '"',
    "&lt;": "<", "&#060;": "<", "&gt;": ">", "&#062;": ">",
    "&amp;": "&", "&#038;": "&", "&#x26;": "&",
}
_ENTITY = re.compile("|".join(re.escape(name) for name in _ENTITIES))


def decode_secret(secret: str) -> str:
    """The HMAC key WooCommerce really uses for `secret` (PR #22722). A no-op for the alphanumeric
    secrets we generate, but keeps secrets pasted by hand with `&`, quotes or `<>` working."""
    for pattern, spelling in _NUMERIC_VARIANTS:
        secret = pattern.sub(spelling, secret)
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(0)], secret)


def signature(secret: str, body: bytes) -> str:
    """The `X-WC-Webhook-Signature` value WooCommerce sends for `body` under `secret`."""
    key = decode_secret(secret).encode("utf-8")
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup: WSGI, Flask and tests all spell header names differently."""
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def verify(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
    """True if the signature matches `body` under any non-empty secret (current and previous).

    Every secret is compared in constant time. Empty secrets are refused: a shop whose secret was
    never set must not accept bodies signed with the empty key. Never raises on bad input."""
    if not isinstance(body, (bytes, bytearray, memoryview)) or not hasattr(headers, "items"):
        return False
    sent = header(headers, SIGNATURE_HEADER)
    if not sent:
        return False
    try:
        sent_bytes = sent.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    raw = bytes(body)
    usable = [secret for secret in secrets or () if isinstance(secret, str) and secret]
    matches = [hmac.compare_digest(signature(secret, raw).encode("ascii"), sent_bytes) for secret in usable]
    return any(matches)


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """The unsigned creation ping: body `webhook_id=<n>` and no `X-WC-Webhook-*` header.

    WooCommerce needs exactly 200 for it; the ingest answers 200 and stores nothing. A body that
    carries any X-WC-Webhook header is a real delivery and must pass `verify` instead."""
    return ping_webhook_id(headers, body) is not None


def ping_webhook_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """The webhook id announced by a creation ping, or None if this is not a ping."""
    if not isinstance(body, (bytes, bytearray)) or not hasattr(headers, "items"):
        return None
    if any(isinstance(key, str) and key.lower().startswith("x-wc-webhook") for key in headers):
        return None
    match = _PING_BODY.match(bytes(body).strip())
    return match.group(1).decode("ascii") if match else None


def inspect(headers: Mapping[str, str], body: bytes) -> Delivery:
    """Delivery id, topic and WooCommerce's descriptive headers of a verified delivery.

    `X-WC-Webhook-Delivery-ID` is `wp_hash(webhook id . current second)`: two different deliveries
    of one webhook in the same second (Action Scheduler sends batches) share it. So the id is
    `<webhook id>:<delivery id>:<sha256 of body>`; a byte-identical redelivery still dedupes, two
    different orders never collide. Without the header the id is `sha256:<hex of body>`."""
    digest = hashlib.sha256(bytes(body)).hexdigest()
    webhook_id = (header(headers, "x-wc-webhook-id") or "").strip()
    delivery = (header(headers, "x-wc-webhook-delivery-id") or "").strip()
    delivery_id = f"{webhook_id}:{delivery}:{digest[:32]}" if delivery else f"sha256:{digest}"
    resource = (header(headers, "x-wc-webhook-resource") or "").strip().lower()
    event = (header(headers, "x-wc-webhook-event") or "").strip().lower()
    topic = (header(headers, "x-wc-webhook-topic") or "").strip().lower()
    if not topic and resource and event:
        topic = f"{resource}.{event}"
    extra = {
        "source": (header(headers, "x-wc-webhook-source") or "").strip(),
        "resource": resource,
        "event": event,
        "webhook_id": webhook_id,
    }
    return Delivery(delivery_id=delivery_id, topic=topic, shop_domain=None, extra=extra)
