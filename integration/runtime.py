"""What a running process holds: settings, the database, the secret box and the platforms.

Built once by `integration.web.bootstrap.build_runtime` (the composition root) and passed down;
nothing here connects at import time. `clock` is injectable so tests can move time.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Connection

from integration.config import Settings
from integration.crypto import SecretBox
from integration.db import Database
from integration.outbox import OutboxRunner
from integration.ports import ShopAccess, StorePlatform
from integration.shops import shop_access


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

    def access(self, conn: Connection, shop_id: int) -> ShopAccess:
        return shop_access(conn, self.box, shop_id)

    def outbox_runner(self) -> OutboxRunner:
        return OutboxRunner(self.db, self.platforms, self.access)
