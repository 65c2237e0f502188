"""OAuth 1.0a "one-legged" query signing, for stores reached over plain http. Standard library only.

WooCommerce accepts HTTP Basic auth only when WordPress itself sees https (`is_ssl()`); over http
it requires this signature (class-wc-rest-authentication.php `check_oauth_signature()`):
base string = METHOD & rawurlencode(url without query) & the sorted params, each `key=value` pair
RFC 3986-encoded twice, joined with `%26`; key = consumer secret + "&"; HMAC-SHA256; timestamp
within 15 minutes; a nonce used once. The body is not signed.

Written here rather than taken from the `woocommerce` package because that client, in http mode,
sends every query parameter twice and forwards its own `oauth_timestamp` option to `requests`
(a TypeError); its signer is used in the tests as a cross-check.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import quote


def rfc3986(value: str) -> str:
    """PHP `rawurlencode` (what `wc_rest_urlencode_rfc3986` uses): everything but A-Z a-z 0-9 -_.~"""
    return quote(value, safe="")


def php_string(value: object) -> str:
    """How PHP sees a query value: True → "1", False → "", numbers as text."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    return str(value)


def signature(method: str, url: str, params: Mapping[str, object], consumer_secret: str) -> str:
    """The `oauth_signature` WooCommerce expects for `params` (oauth_* included, signature not)."""
    pairs = []
    for key in sorted(params):
        pair = f"{rfc3986(key)}={rfc3986(php_string(params[key]))}"
        pairs.append(rfc3986(pair))
    base = f"{method.upper()}&{rfc3986(url)}&{'%26'.join(pairs)}"
    key = f"{consumer_secret}&".encode("utf-8")
    return base64.b64encode(hmac.new(key, base.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def signed_params(method: str, url: str, params: Mapping[str, object], *, consumer_key: str,
                  consumer_secret: str, timestamp: int, nonce: str | None = None) -> dict[str, str]:
    """`params` plus the oauth_* parameters, ready to be sent once, in the query string."""
    signed = {key: php_string(value) for key, value in params.items()}
    signed.update({
        "oauth_consumer_key": consumer_key,
        "oauth_timestamp": str(timestamp),
        "oauth_nonce": nonce or secrets.token_hex(20),
        "oauth_signature_method": "HMAC-SHA256",
    })
    signed["oauth_signature"] = signature(method, url, signed, consumer_secret)
    return signed
