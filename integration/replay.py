"""Put stored webhook events back in the queue (API, CLI, settings page)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from integration.db import Database
from integration.db.tables import inbox


def replay(db: Database, event_id: int, now: datetime, shop_id: int | None = None) -> bool:
    """Put a failed (or done) event back in the queue; its effects are idempotent by source key."""
    with db.write() as conn:
        statement = update(inbox).where(inbox.c.id == event_id, inbox.c.status != "pending")
        if shop_id is not None:
            statement = statement.where(inbox.c.shop_id == shop_id)
        result = conn.execute(statement.values(status="pending", next_attempt_at=now, attempts=0, error=None))
    return result.rowcount == 1


def replay_failed(db: Database, now: datetime, shop_id: int | None = None) -> int:
    with db.write() as conn:
        statement = update(inbox).where(inbox.c.status == "failed")
        if shop_id is not None:
            statement = statement.where(inbox.c.shop_id == shop_id)
        return conn.execute(statement.values(status="pending", next_attempt_at=now, attempts=0)).rowcount
