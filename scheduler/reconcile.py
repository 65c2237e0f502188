"""Reconciliation: read back every order the store changed since the last run and apply it
through the same path as a webhook (`integration.dispatch.handle`), so a missed, late or
dropped delivery still earns (and reverses) exactly once: every effect is keyed by a source key.

Platform-neutral: it needs only `StorePlatform.orders_since`. One write transaction per order;
the cursor (`shops.last_sync_at`) moves to the run's start minus an overlap, because the store's
clock and ours differ and an order updated during the run must be read again next time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from integration.db import repo
from integration.db.tables import shops
from integration.dispatch import handle
from integration.events import Ignored
from integration.ports import LoyaltyError
from integration.runtime import Runtime
from integration.services import OrderNotRecordedError

log = logging.getLogger(__name__)

FIRST_LOOKBACK = timedelta(days=60)  # all Shopify shows without read_all_orders
OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """`events_applied` counts events passed to the webhook path (a replay changes nothing);
    `orders_failed` those whose transaction was rolled back (logged; read again next time only
    if the store changes them again)."""

    orders_seen: int
    events_applied: int
    orders_failed: int = 0


def reconcile_shop(runtime: Runtime, shop_id: int, now: datetime) -> ReconcileResult:
    """Read the store's orders changed since the cursor and apply them. Raises StoreWriteError
    when the store cannot be read (the cursor then stays where it was)."""
    with runtime.db.read() as conn:
        shop = repo.shop_row(conn, shop_id)
        if shop.status != "active":
            log.info("reconcile shop %s: %s, skipped", shop_id, shop.status)
            return ReconcileResult(0, 0)
        access = runtime.access(conn, shop_id)
    since = _aware(shop.last_sync_at) if shop.last_sync_at else now - FIRST_LOOKBACK
    seen = applied = failed = 0
    for events in runtime.platforms[shop.platform].orders_since(access, since):
        seen += 1
        try:
            applied += _apply(runtime, shop_id, events, now)
        except LoyaltyError as error:
            failed += 1
            log.warning("reconcile shop %s: order not applied: %s", shop_id, error)
    with runtime.db.write() as conn:
        conn.execute(update(shops).where(shops.c.id == shop_id).values(last_sync_at=now - OVERLAP))
    log.info("reconcile shop %s since %s: %s orders, %s events, %s failed", shop_id, since.isoformat(), seen,
             applied, failed)
    return ReconcileResult(seen, applied, failed)


def _apply(runtime: Runtime, shop_id: int, events, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """One order's events in one transaction. A reversal for an order we never recorded as paid
    (cancelled before payment) has nothing to take back: skipped, in its own savepoint."""
    applied = 0
    with runtime.db.write() as conn:
        for event in events:
            if isinstance(event, Ignored):
                continue
            try:
                with conn.begin_nested():
                    handle(conn, shop_id, event, now)
            except OrderNotRecordedError:
                continue
            applied += 1
    return applied


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
