"""Install and request authentication that needs no HTTP: shop domains, the install redirect,
OAuth-callback and app-proxy signatures, session tokens (App Bridge ID tokens).

Hand-written rather than via `shopify_app`: it has no authorization-code helpers, and its
app-proxy and ID-token checks read the wall clock, so Shopify's published vectors (2011 and
2023 timestamps) could not be tested. Clocks are parameters here. Token HTTP calls: `tokens.py`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets as random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import jwt

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
ADMIN_STORE = re.compile(r"^admin\.shopify\.com/store/([a-z0-9][a-z0-9-]*)$")
MAX_SKEW_SECONDS = 90
SECURITY_PARAMS = ("shop", "timestamp", "signature", "hmac")

Params = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


class InstallError(ValueError):
    """A request that claims to come from Shopify but cannot be trusted; `reason` says why."""


def sanitize_shop_domain(value: str | None, allowed_suffixes: Sequence[str] = ()) -> str | None:
    """`x.myshopify.com` (lower-cased) from what a request carries, or None if it is not one.
    Accepts a scheme, a trailing slash and `admin.shopify.com/store/x`; `allowed_suffixes` is
    the hook for development domains (e.g. `.shop.dev`)."""
    if not value:
        return None
    text = value.strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.rstrip("/")
    if match := ADMIN_STORE.match(text):
        text = f"{match.group(1)}.myshopify.com"
    if SHOP_DOMAIN.match(text):
        return text
    for suffix in allowed_suffixes:
        head = text[: -len(suffix)] if text.endswith(suffix) else ""
        if head and re.fullmatch(r"[a-z0-9][a-z0-9-]*", head):
            return text
    return None


def new_state() -> str:
    """A nonce for the OAuth `state`; keep it in a signed, short-lived cookie or the session."""
    return random.token_hex(32)


def install_url(
    shop: str, client_id: str, redirect_uri: str, state: str, scopes: Sequence[str] = (), *, online: bool = False
) -> str:
    """Where to send the merchant to grant access. Leave `scopes` empty when the TOML declares
    them; `online=True` asks for a per-user token (`grant_options[]=per-user`)."""
    params = [("client_id", client_id)]
    if scopes:
        params.append(("scope", ",".join(scopes)))
    params += [("redirect_uri", redirect_uri), ("state", state)]
    if online:
        params.append(("grant_options[]", "per-user"))
    return f"https://{shop}/admin/oauth/authorize?{urlencode(params)}"


def _pairs(params: Params) -> list[tuple[str, str | list[str]]]:
    items = params.items() if isinstance(params, Mapping) else params
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key, []).extend([value] if isinstance(value, str) else list(value))
    return [(k, v[0] if len(v) == 1 and not k.endswith("[]") else v) for k, v in grouped.items()]


def query_messages(params: Params) -> set[str]:
    """Candidate signed messages for an OAuth/install query `hmac`. Shopify's libraries differ:
    Python escapes only `%`, `&` and `=`-in-key and writes `[]` keys as a JSON list (vector A2);
    JS percent-encodes everything, a space as `%20` (vector A7). Every candidate is keyed by
    the secret, so accepting any of them lets no one forge a signature."""
    python_style, spaced, js_style = [], [], []
    for key, value in _pairs(params):
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            key, value = key[:-2], json.dumps([str(v) for v in value])
        text = value if isinstance(value, str) else ",".join(value)
        pair = key.replace("%", "%25").replace("&", "%26").replace("=", "%3D") + "=" + text.replace("%", "%25").replace("&", "%26")
        python_style.append(pair)
        spaced.append(pair.replace(" ", "%20"))
        js_style.append(f"{quote(key, safe='')}={quote(text, safe='')}")
    return {"&".join(sorted(style)) for style in (python_style, spaced, js_style)}


def _hex_hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _matches(received: str, messages: Iterable[str], secrets: Sequence[str]) -> bool:
    results = [hmac.compare_digest(received.lower(), _hex_hmac(s, m)) for s in secrets if s for m in messages]
    return any(results)


def _fresh(timestamp: object, now: float, max_skew: float) -> bool:
    try:
        value = int(str(timestamp))
    except ValueError:
        return False
    return abs(now - value) <= max_skew


def verify_query_hmac(params: Params, secrets: Sequence[str], *, now: float, max_skew: float = MAX_SKEW_SECONDS) -> bool:
    """True if the query's hex `hmac` matches under a secret and `timestamp` is within the window."""
    pairs = dict(_pairs(params))
    received = pairs.get("hmac")
    if not isinstance(received, str) or not _fresh(pairs.get("timestamp"), now, max_skew):
        return False
    return _matches(received, query_messages(params), secrets)


@dataclass(frozen=True, slots=True)
class Callback:
    shop: str
    code: str
    host: str | None = None


def check_callback(params: Params, secrets: Sequence[str], expected_state: str, *, now: float, max_skew: float = 90) -> Callback:
    """The OAuth callback's checks in Shopify's order: state, hmac+timestamp, shop. Raises
    InstallError; on success the caller exchanges `code` (see `tokens.exchange_code`)."""
    pairs = dict(_pairs(params))
    state = pairs.get("state")
    if not isinstance(state, str) or not expected_state or not hmac.compare_digest(state, expected_state):
        raise InstallError("state does not match the nonce we issued")
    if not verify_query_hmac(params, secrets, now=now, max_skew=max_skew):
        raise InstallError("hmac or timestamp is invalid")
    shop = sanitize_shop_domain(pairs.get("shop") if isinstance(pairs.get("shop"), str) else None)
    code = pairs.get("code")
    if shop is None or not isinstance(code, str) or not code:
        raise InstallError("shop or code is missing or malformed")
    host = pairs.get("host")
    return Callback(shop=shop, code=code, host=host if isinstance(host, str) else None)


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    shop: str
    logged_in_customer_id: str | None  # None when nobody is logged in: show a login prompt
    path_prefix: str | None = None


def app_proxy_message(pairs: Sequence[tuple[str, str]]) -> str:
    """Sorted `key=value` (repeated values joined by `,`), decoded, no separator."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    return "".join(f"{k}={','.join(v)}" for k, v in sorted(grouped.items()))


def verify_app_proxy(query: str, secrets: Sequence[str], *, now: float, max_skew: float = MAX_SKEW_SECONDS) -> ProxyRequest | None:
    """The verified storefront request, or None. Rejects duplicated security params and a stale
    timestamp. The portal must still show only `logged_in_customer_id`'s own data."""
    pairs = parse_qsl(query.removeprefix("?"), keep_blank_values=True)
    keys = [k for k, _ in pairs]
    if any(keys.count(k) > 1 for k in SECURITY_PARAMS):
        return None
    values = dict(pairs)
    signature = values.get("signature")
    if not signature or not _fresh(values.get("timestamp"), now, max_skew):
        return None
    if not _matches(signature, [app_proxy_message(pairs)], secrets):
        return None
    shop = sanitize_shop_domain(values.get("shop"))
    if shop is None:
        return None
    return ProxyRequest(shop, values.get("logged_in_customer_id") or None, values.get("path_prefix"))


@dataclass(frozen=True, slots=True)
class SessionToken:
    shop: str
    user_id: str | None  # `sub`: the staff member (embedded admin) or customer gid (extensions)
    session_id: str | None
    expires_at: int
    token: str  # the raw JWT, for token exchange
    claims: Mapping[str, object]


def decode_session_token(
    token: str, api_key: str, secrets: Sequence[str], *, now: float, leeway: float = 10
) -> SessionToken:
    """Verify an App Bridge ID token (HS256, `aud` = our client id, `iss` on the `dest` shop,
    `exp`/`nbf` within `leeway`). Raises InstallError."""
    raw = token.strip().removeprefix("Bearer ").strip()
    claims, failure = None, "no secret"
    for secret in (s for s in secrets if s):
        try:
            claims = jwt.decode(
                raw, secret, algorithms=["HS256"], audience=api_key,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["exp", "dest", "aud"]},
            )
            break
        except jwt.InvalidTokenError as error:
            failure = str(error)
    if claims is None:
        raise InstallError(f"session token rejected: {failure}")
    if now > float(claims["exp"]) + leeway or ("nbf" in claims and now + leeway < float(claims["nbf"])):
        raise InstallError("session token expired or not yet valid")
    shop = sanitize_shop_domain(urlsplit(str(claims["dest"])).hostname or str(claims["dest"]))
    issuer = urlsplit(str(claims.get("iss", ""))).hostname
    if shop is None or issuer != shop:
        raise InstallError("session token iss/dest do not name the same valid shop")
    sub = claims.get("sub")
    return SessionToken(shop, str(sub) if sub else None, claims.get("sid"), int(claims["exp"]), raw, claims)
