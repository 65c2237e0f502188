"""Shops (installed stores), their encrypted credentials (refreshed under a row lock when they
expire), and per-shop API keys."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Protocol

from sqlalchemy import Connection, select, update

from integration.crypto import SecretBox
from integration.db import Database, locked, repo
from integration.db.tables import api_keys, shops
from integration.ports import ShopAccess, StoreAuthError
from integration.program import default_program

log = logging.getLogger(__name__)


def add_shop(conn: Connection, box: SecretBox, *, platform: str, domain: str, now: datetime,
             credentials: dict[str, str] | None = None, webhook_secret: str = "", name: str = "",
             currency: str = "USD", timezone: str = "UTC", locale: str = "en") -> int:
    """Install (or re-install) a shop; credentials are stored encrypted. Returns the shop id."""
    values = {
        "name": name or domain, "currency": currency, "timezone": timezone, "locale": locale,
        "status": "active", "credentials": box.encrypt(json.dumps(credentials or {})),
        "webhook_secret": box.encrypt(webhook_secret), "uninstalled_at": None,
    }
    shop_id = repo.insert_once(conn, shops, {"platform": platform, "domain": domain, "installed_at": now, **values},
                               ["platform", "domain"])
    if shop_id is None:
        shop_id = conn.execute(select(shops.c.id).where(shops.c.platform == platform, shops.c.domain == domain)).scalar_one()
        conn.execute(update(shops).where(shops.c.id == shop_id).values(**values))
    if repo.current_program(conn, shop_id).version == 1:
        from integration.db.tables import programs
        stored = conn.execute(select(programs.c.id).where(programs.c.shop_id == shop_id)).first()
        if stored is None:
            repo.save_program(conn, shop_id, default_program(), "defaults", now)
    return shop_id


def find_shop(conn: Connection, platform: str, domain: str) -> Any:
    return conn.execute(select(shops).where(shops.c.platform == platform, shops.c.domain == domain)).first()


def shop_access(conn: Connection, box: SecretBox, shop_id: int) -> ShopAccess:
    return _access(box, repo.shop_row(conn, shop_id))


def webhook_secrets(box: SecretBox, shop: Any, app_secrets: tuple[str, ...]) -> tuple[str, ...]:
    """The shop's own webhook secrets (current, then previous, one per line) when it has them
    (WooCommerce); else the app's secrets (Shopify signs with the app's client secret)."""
    own = tuple(s for s in box.decrypt(shop.webhook_secret).splitlines() if s) if shop is not None else ()
    return own or tuple(s for s in app_secrets if s)


def create_api_key(conn: Connection, shop_id: int, now: datetime, label: str = "") -> str:
    """A new bearer key for the JSON API; only its hash is stored, so it is shown once."""
    repo.shop_row(conn, shop_id)
    key = "lb_" + secrets.token_urlsafe(32)
    conn.execute(api_keys.insert().values(
        shop_id=shop_id, key_hash=hash_key(key), prefix=key[:10], label=label, created_at=now))
    return key


def shop_for_key(conn: Connection, key: str) -> int | None:
    row = conn.execute(select(api_keys.c.shop_id).where(
        api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None))).first()
    return row.shop_id if row else None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- expiring access tokens (Shopify public apps) ---------------------------------------------

REFRESH_MARGIN = timedelta(seconds=60)  # refresh a minute early, as Shopify's own libraries do


class TokenGrant(Protocol):
    """What a platform's token endpoint granted (`adapters.shopify.tokens.TokenSet` fits)."""

    @property
    def access_token(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def expires_at(self) -> datetime | None: ...
    @property
    def refresh_token(self) -> str | None: ...
    @property
    def refresh_token_expires_at(self) -> datetime | None: ...


TokenRefresher = Callable[[str, str], TokenGrant]  # (shop domain, refresh token) -> new pair


def save_grant(conn: Connection, box: SecretBox, shop_id: int, grant: TokenGrant) -> None:
    """Store a granted access/refresh pair and its expiry in ONE update: a reader sees the old
    pair or the new one, never the new access token beside a spent refresh token."""
    credentials = {"access_token": grant.access_token, "scope": grant.scope}
    if grant.refresh_token:
        credentials["refresh_token"] = grant.refresh_token
    if grant.refresh_token_expires_at is not None:
        credentials["refresh_token_expires_at"] = grant.refresh_token_expires_at.isoformat()
    conn.execute(update(shops).where(shops.c.id == shop_id).values(
        credentials=box.encrypt(json.dumps(credentials)), token_expires_at=grant.expires_at))


def install_with_grant(conn: Connection, box: SecretBox, *, platform: str, domain: str, grant: TokenGrant,
                       now: datetime) -> int:
    """Install (or re-install) a shop from an OAuth or token-exchange grant; its webhooks are
    signed with the app's secret, so it keeps no secret of its own."""
    shop_id = add_shop(conn, box, platform=platform, domain=domain, now=now)
    save_grant(conn, box, shop_id, grant)
    return shop_id


def needs_refresh(shop: Any, now: datetime) -> bool:
    expires_at = shop.token_expires_at
    if expires_at is None:
        return False  # a non-expiring token (custom apps, WooCommerce keys)
    if expires_at.tzinfo is None:  # SQLite hands back naive datetimes; we store UTC
        expires_at = expires_at.replace(tzinfo=dt_timezone.utc)
    return now + REFRESH_MARGIN >= expires_at


def fresh_access(db: Database, box: SecretBox, shop_id: int, now: datetime,
                 refresher: TokenRefresher | None) -> ShopAccess:
    """The shop's access with a token valid for at least `REFRESH_MARGIN`.

    When the token is due, the shop row is locked (FOR UPDATE on PostgreSQL; SQLite's write
    transaction is exclusive) and re-read: another worker may have refreshed it meanwhile, and a
    refresh token works once. The refresh call is made under the lock, and the new pair is saved
    in one update. A refused refresh marks the shop `needs_reauth` and raises StoreAuthError, so no
    store call is made until the merchant opens the app again."""
    with db.read() as conn:
        shop = repo.shop_row(conn, shop_id)
        if not needs_refresh(shop, now):
            return _access(box, shop)
    refused: StoreAuthError | None = None
    with db.write() as conn:
        shop = conn.execute(locked(conn, select(shops).where(shops.c.id == shop_id))).first()
        if shop is None:
            raise repo.NotFoundError(f"shop {shop_id}")
        if not needs_refresh(shop, now):
            return _access(box, shop)  # refreshed by someone else while we waited for the lock
        if shop.status != "active":  # uninstalled, or a refresh was refused before: ask no one
            raise StoreAuthError(f"shop {shop.domain} is {shop.status}: its token cannot be refreshed")
        refresh_token = json.loads(box.decrypt(shop.credentials) or "{}").get("refresh_token")
        try:
            if not refresh_token or refresher is None:
                raise StoreAuthError(f"shop {shop.domain}: the access token expired and cannot be refreshed")
            save_grant(conn, box, shop_id, refresher(shop.domain, refresh_token))
        except StoreAuthError as error:
            refused = error
            conn.execute(update(shops).where(shops.c.id == shop_id).values(status="needs_reauth"))
        else:
            shop = conn.execute(select(shops).where(shops.c.id == shop_id)).one()
            return _access(box, shop)
    log.warning("shop %s needs to be re-authorised: %s", shop_id, refused)
    raise refused


def _access(box: SecretBox, shop: Any) -> ShopAccess:
    credentials = json.loads(box.decrypt(shop.credentials) or "{}")
    return ShopAccess(shop_id=shop.id, platform=shop.platform, domain=shop.domain,
                      credentials=credentials, currency=shop.currency)
