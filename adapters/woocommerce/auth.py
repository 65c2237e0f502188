"""Connecting a store: the `/wc-auth/v1/authorize` URL, its key callback, and a check of the keys.

Flow (class-wc-auth.php): send the merchant to `authorize_url(...)`; after "Approve" WooCommerce
POSTs `{key_id, user_id, consumer_key, consumer_secret, key_permissions}` as JSON to
`callback_url` (https only; it deletes the key unless the answer is exactly 200), then sends the
browser to `return_url?success=1&user_id=<state>`. The POST names no store: `user_id` carries our
opaque, single-use state, which the core maps back to the store URL. Keys are checked with
`check_keys` before they are saved.
"""
from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from adapters.woocommerce.client import WooClient, normalize_store_url
from integration.ports import PayloadError

SCOPE = "read_write"  # list orders, write coupons and customers, manage webhooks
KEY_CHECK_ENDPOINT = "webhooks"  # cheap, and needs the shop-manager rights webhooks need


@dataclass(frozen=True, slots=True)
class KeysReceived:
    """What the store POSTed to our callback. `state` is our own `user_id`, echoed back."""

    key_id: str
    state: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    permissions: str


def authorize_url(store_url: str, *, app_name: str, state: str, return_url: str, callback_url: str) -> str:
    """Where to send the merchant. WooCommerce refuses a callback that is not https, so do we."""
    if not callback_url.startswith("https://"):
        raise ValueError("WooCommerce requires an https callback_url")
    if not state or not app_name:
        raise ValueError("app_name and state are required")
    query = urlencode({"app_name": app_name, "scope": SCOPE, "user_id": state,
                       "return_url": return_url, "callback_url": callback_url})
    return f"{normalize_store_url(store_url)}/wc-auth/v1/authorize?{query}"


def parse_callback(body: bytes, expected_state: str | None = None) -> KeysReceived:
    """The keys in the callback body. PayloadError when they are malformed, not read_write, or
    (given `expected_state`) for another state; the caller still answers 200 only on success."""
    try:
        payload = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise PayloadError(f"callback body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise PayloadError("callback body is not a JSON object")
    received = KeysReceived(
        key_id=_scalar(payload, "key_id"),
        state=_scalar(payload, "user_id"),  # sent as the string we gave; docs show a number
        consumer_key=_scalar(payload, "consumer_key"),
        consumer_secret=_scalar(payload, "consumer_secret"),
        permissions=_scalar(payload, "key_permissions"),
    )
    if not received.consumer_key.startswith("ck_") or not received.consumer_secret.startswith("cs_"):
        raise PayloadError("callback keys are not WooCommerce keys (ck_/cs_)")
    if received.permissions != SCOPE:
        raise PayloadError(f"keys have {received.permissions!r} permissions, {SCOPE!r} needed")
    if expected_state is not None and not hmac.compare_digest(received.state.encode(), expected_state.encode()):
        raise PayloadError("callback state does not match")
    return received


def check_keys(store_url: str, consumer_key: str, consumer_secret: str, *, timeout: float = 10.0,
               verify_tls: bool = True, sleep: Callable[[float], None] = time.sleep,
               max_attempts: int = 2, session: requests.Session | None = None) -> None:
    """Confirm the keys before saving them: `GET webhooks?per_page=1` must succeed.

    Raises StoreAuthError for refused keys (or a user without shop-manager rights), and
    StoreWriteError when the store cannot be reached or answers no JSON (plain permalinks
    disable /wp-json/). Write permission cannot be tested without writing: the callback's
    `key_permissions` tells; for pasted keys the first webhook creation will."""
    client = WooClient(store_url, consumer_key, consumer_secret, session=session or requests.Session(),
                       timeout=timeout, sleep=sleep, max_attempts=max_attempts, verify_tls=verify_tls)
    client.get(KEY_CHECK_ENDPOINT, {"per_page": 1})


def _scalar(payload: dict, key: str) -> str:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise PayloadError(f"callback has no {key}")
    return str(value).strip()
