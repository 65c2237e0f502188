"""Access-token HTTP calls to `/admin/oauth/access_token`: code grant, token exchange, refresh,
and migration to expiring offline tokens. Persistence (atomically, per pair) is the caller's.

Written on `requests` rather than `shopify_app`'s exchange helpers: those build the URL from
the shop (tests cannot point them at a fake), use httpx, and return their own result types,
while the caller needs the refresh-token fields as one `TokenSet`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from integration.ports import StoreAuthError, StoreWriteError

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN = "urn:shopify:params:oauth:token-type:online-access-token"
REFRESH_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What Shopify granted. `expires_at`/`refresh_*` are None for a non-expiring token.
    `scope` may differ from what was asked: check it."""

    access_token: str = field(repr=False)
    scope: str
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_at: datetime | None = None

    def needs_refresh(self, now: datetime) -> bool:
        """Refresh a minute early, as Shopify's own libraries do."""
        return self.expires_at is not None and now + REFRESH_MARGIN >= self.expires_at


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """The app's credentials and where its shops' Admin lives (a fake in tests)."""

    client_id: str
    client_secret: str = field(repr=False)
    admin_url: str = "https://{shop}"
    timeout: float = 10.0
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    session: requests.Session | None = None


def exchange_code(app: OAuthApp, shop: str, code: str, *, expiring: bool = True) -> TokenSet:
    """Authorization-code grant, after `auth.check_callback` accepted the callback."""
    body = {"code": code}
    if expiring:
        body["expiring"] = "1"
    return _post(app, shop, body)


def exchange_session_token(app: OAuthApp, shop: str, session_token: str, *, online: bool = False, expiring: bool = True) -> TokenSet:
    """Token exchange for embedded apps (Shopify-managed install): ID token → access token."""
    body = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": session_token,
        "subject_token_type": ID_TOKEN,
        "requested_token_type": ONLINE_TOKEN if online else OFFLINE_TOKEN,
    }
    if expiring and not online:
        body["expiring"] = "1"
    return _post(app, shop, body)


def refresh(app: OAuthApp, shop: str, refresh_token: str) -> TokenSet:
    """A new access/refresh pair; the old refresh token stops working once the new one is used."""
    return _post(app, shop, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def migrate_to_expiring(app: OAuthApp, shop: str, offline_token: str) -> TokenSet:
    """Swap a legacy non-expiring offline token for an expiring pair (required from 2027-01-01)."""
    return _post(app, shop, {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": offline_token,
        "subject_token_type": OFFLINE_TOKEN,
        "requested_token_type": OFFLINE_TOKEN,
        "expiring": "1",
    })


def _post(app: OAuthApp, shop: str, fields: dict[str, str]) -> TokenSet:
    url = app.admin_url.format(shop=shop).rstrip("/") + "/admin/oauth/access_token"
    body = {"client_id": app.client_id, "client_secret": app.client_secret, **fields}
    sender = app.session or requests
    try:
        response = sender.post(url, json=body, headers={"Accept": "application/json"}, timeout=app.timeout)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise StoreWriteError(f"Shopify {shop} token endpoint unreachable: {type(error).__name__}", retryable=True) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise StoreWriteError(f"Shopify {shop} token endpoint: HTTP {response.status_code}", retryable=True)
    if response.status_code >= 400:
        raise StoreAuthError(f"Shopify {shop} refused the grant: HTTP {response.status_code} {_error(response)}")
    return token_set(response.json(), app.now())


def token_set(data: dict[str, Any], now: datetime) -> TokenSet:
    """`TokenSet` from the endpoint's JSON (`expires_in` seconds become absolute times)."""
    def at(seconds: object) -> datetime | None:
        return now + timedelta(seconds=int(seconds)) if seconds not in (None, "") else None

    if not data.get("access_token"):
        raise StoreAuthError("token endpoint answered without an access_token")
    return TokenSet(
        access_token=data["access_token"],
        scope=data.get("scope", ""),
        expires_at=at(data.get("expires_in")),
        refresh_token=data.get("refresh_token"),
        refresh_token_expires_at=at(data.get("refresh_token_expires_in")),
    )


def _error(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error_description") or data.get("error") or "")[:200] if isinstance(data, dict) else ""
