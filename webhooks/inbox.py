"""The durable inbox: verified deliveries stored before we answer, applied by a worker.

A delivery's effects and its "done" mark commit in one transaction, so a worker killed at any point
loses nothing and applies nothing twice: a claimed row whose worker died is claimed again when its
lease runs out. A payload that cannot be parsed is kept as failed, with the error, for replay.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import update

from integration import metrics
from integration.db import Database, repo
from integration.db.tables import inbox
from integration.dispatch import handle
from integration.events import Delivery
from integration.ports import PayloadError, StorePlatform

log = logging.getLogger(__name__)

RETRY_SECONDS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def store_delivery(db: Database, *, shop_id: int, platform: str, delivery: Delivery,
                   headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    """Keep a verified delivery; False when this delivery id was stored before (a re-delivery)."""
    with db.write() as conn:
        new_id = repo.insert_once(conn, inbox, {
            "shop_id": shop_id, "platform": platform, "delivery_id": delivery.delivery_id[:200],
            "topic": delivery.topic[:100], "headers": dict(headers), "body": body, "status": "pending",
            "attempts": 0, "received_at": now, "next_attempt_at": now,
        }, ["shop_id", "delivery_id"])
    return new_id is not None


def claim_batch(db: Database, now: datetime, limit: int, lease_seconds: float) -> list[Any]:
    with db.write() as conn:
        return repo.claim_due(conn, inbox, now, limit, lease_seconds, inbox.c.id, inbox.c.shop_id, inbox.c.platform,
                              inbox.c.topic, inbox.c.body, inbox.c.attempts, inbox.c.received_at)


@dataclass
class Worker:
    db: Database
    platforms: Mapping[str, StorePlatform]
    batch_size: int = 50
    lease_seconds: float = 120.0
    max_attempts: int = len(RETRY_SECONDS) + 1
    processed: int = field(default=0, init=False)

    def run_once(self, now: datetime | None = None) -> int:
        """Claim and apply one batch; the number of events claimed."""
        rows = claim_batch(self.db, now or utcnow(), self.batch_size, self.lease_seconds)
        for row in rows:
            metrics.inbox_event(row.platform, self.process(row, now or utcnow()))
        self.processed += len(rows)
        return len(rows)

    def drain(self, now: datetime | None = None) -> int:
        total = 0
        while count := self.run_once(now):
            total += count
        return total

    def process(self, row: Any, now: datetime) -> str:
        try:
            events = self.platforms[row.platform].parse(row.topic, bytes(row.body), _aware(row.received_at))
        except PayloadError as error:
            return self._fail(row.id, f"unparseable payload: {error}", now)
        except Exception as error:  # noqa: BLE001 - a bad payload must never stop the worker
            log.exception("inbox %s: parser crashed", row.id)
            return self._fail(row.id, f"parser error: {error!r}", now)
        try:
            with self.db.write() as conn:
                if not _mark_done(conn, row.id, now):
                    return "skipped"  # another worker finished it after our lease ran out
                outcomes = [handle(conn, row.shop_id, event, now) for event in events]
        except Exception as error:  # noqa: BLE001 - recorded on the event, replayable
            if getattr(error, "retryable", False) and row.attempts + 1 < self.max_attempts:
                return self._retry(row, str(error), now)
            log.warning("inbox %s failed: %r", row.id, error)
            return self._fail(row.id, f"{type(error).__name__}: {error}", now)
        log.info("inbox %s %s: %s", row.id, row.topic, "; ".join(outcomes))
        return "done"

    def _retry(self, row: Any, error: str, now: datetime) -> str:
        wait = RETRY_SECONDS[min(row.attempts, len(RETRY_SECONDS) - 1)]
        with self.db.write() as conn:
            conn.execute(update(inbox).where(inbox.c.id == row.id, inbox.c.status == "pending").values(
                error=error, next_attempt_at=now + timedelta(seconds=wait)))
        return "retry"

    def _fail(self, event_id: int, error: str, now: datetime) -> str:
        with self.db.write() as conn:
            conn.execute(update(inbox).where(inbox.c.id == event_id, inbox.c.status == "pending").values(
                status="failed", error=error[:4000], processed_at=now))
        return "failed"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _mark_done(conn: Any, event_id: int, now: datetime) -> bool:
    """First statement of the event's transaction: it takes the row (locked until commit on
    PostgreSQL), so the effects that follow and the mark commit or roll back together."""
    return conn.execute(update(inbox).where(inbox.c.id == event_id, inbox.c.status == "pending").values(
        status="done", processed_at=now, error=None)).rowcount == 1
