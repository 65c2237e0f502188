"""Shops (installed stores), their encrypted credentials, and per-shop API keys."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from integration.crypto import SecretBox
from integration.db import repo
from integration.db.tables import api_keys, shops
from integration.ports import ShopAccess
from integration.program import default_program


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
    shop = repo.shop_row(conn, shop_id)
    credentials = json.loads(box.decrypt(shop.credentials) or "{}")
    return ShopAccess(shop_id=shop.id, platform=shop.platform, domain=shop.domain,
                      credentials=credentials, currency=shop.currency)


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
