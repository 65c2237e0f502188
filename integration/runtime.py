"""What a running process holds: settings, the database, the secret box and the platforms.

Built once by `integration.web.bootstrap.build_runtime` (the composition root) and passed down;
nothing here connects at import time. `clock` is injectable so tests can move time.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Connection, select

from integration.config import Settings
from integration.crypto import SecretBox
from integration.db import Database
from integration.db.tables import shops
from integration.outbox import OutboxRunner
from integration.ports import ShopAccess, StorePlatform
from integration.shops import TokenRefresher, fresh_access


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    platforms: Mapping[str, StorePlatform]
    app_secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    token_refreshers: Mapping[str, TokenRefresher] = field(default_factory=dict)  # by platform

    def access(self, conn: Connection, shop_id: int) -> ShopAccess:
        """Credentials for one store call, refreshed first if the token is (nearly) expired.
        `conn` is the caller's open transaction; a refresh runs in its own write transaction,
        under the shop's row lock. Raises StoreAuthError (shop now `needs_reauth`)."""
        platform = conn.execute(select(shops.c.platform).where(shops.c.id == shop_id)).scalar()
        return fresh_access(self.db, self.box, shop_id, self.clock(), self.token_refreshers.get(platform or ""))

    def outbox_runner(self) -> OutboxRunner:
        return OutboxRunner(self.db, self.platforms, self.access)
