"""Per-shop store API budgets shared by every worker process: a token bucket in `store_budgets`.

Shopify meters its GraphQL Admin API per app and store with a leaky bucket (Standard plan:
restoring 100 points/s; every answer reports `throttleStatus`). Ten workers that each believed they
had the whole allowance would spend it ten times over and all be THROTTLED, so a worker takes a
call's cost from the shop's row before calling (`take`), under a row lock (FOR UPDATE on PostgreSQL;
SQLite's immediate transaction serialises writers), and every answer that carries the store's own
count resets the row to it (`observe`), so the shared bucket follows the store, not a guess.

The bucket runs on the wall clock (`time.time`), not the business clock a test may freeze.
Platforms without a policy (test fakes) are not metered.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update

from integration import metrics
from integration.db import Database, locked, repo
from integration.db.tables import shops, store_budgets

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    maximum: float  # the bucket's size, in the platform's points
    restore_rate: float  # points per second
    call_cost: float  # what one store write is assumed to cost before the store says otherwise


POLICIES: Mapping[str, BudgetPolicy] = {
    # shared/platforms/shopify.md §6: Standard plan restores 100/s; a mutation's requested cost is ~10.
    "shopify": BudgetPolicy(maximum=1000.0, restore_rate=100.0, call_cost=10.0),
    # WooCommerce publishes no limit; its hosts often cap bursts. 5 requests/s, bursts of 20.
    "woocommerce": BudgetPolicy(maximum=20.0, restore_rate=5.0, call_cost=1.0),
}


EPSILON = 1e-3  # stored times round to microseconds; a thousandth of a point is not worth a wait


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _seconds(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def take(db: Database, shop_id: int, policy: BudgetPolicy, cost: float | None = None,
         clock: Callable[[], float] = time.time) -> float:
    """Take `cost` points from the shop's bucket: 0.0 when taken, else the seconds until the
    bucket holds them (nothing is taken then)."""
    cost = policy.call_cost if cost is None else cost
    now = clock()
    with db.write() as conn:
        repo.insert_once_returning(conn, store_budgets, {
            "shop_id": shop_id, "available": policy.maximum, "maximum": policy.maximum,
            "restore_rate": policy.restore_rate, "updated_at": _moment(now)}, ["shop_id"], store_budgets.c.shop_id)
        row = conn.execute(locked(conn, select(store_budgets).where(store_budgets.c.shop_id == shop_id))).one()
        elapsed = max(0.0, now - _seconds(row.updated_at))
        available = min(row.maximum, row.available + elapsed * row.restore_rate)
        if available + EPSILON < cost:
            return (cost - available) / row.restore_rate if row.restore_rate > 0 else 1.0
        conn.execute(update(store_budgets).where(store_budgets.c.shop_id == shop_id).values(
            available=max(0.0, available - cost), updated_at=_moment(now)))
        return 0.0


def observe(db: Database, platform: str, domain: str, status: Mapping[str, Any],
            clock: Callable[[], float] = time.time) -> None:
    """Reset a shop's bucket to what the store reported (`throttleStatus`: maximumAvailable,
    currentlyAvailable, restoreRate). A malformed report changes nothing."""
    try:
        values = {"available": float(status["currentlyAvailable"]), "maximum": float(status["maximumAvailable"]),
                  "restore_rate": float(status["restoreRate"])}
    except (KeyError, TypeError, ValueError):
        return
    if values["restore_rate"] <= 0 or values["maximum"] <= 0:
        return
    shop = select(shops.c.id).where(shops.c.platform == platform, shops.c.domain == domain).scalar_subquery()
    with db.write() as conn:
        conn.execute(update(store_budgets).where(store_budgets.c.shop_id == shop).values(
            **values, updated_at=_moment(clock())))


@dataclass
class Budgets:
    """What the outbox runner consults before each store call."""

    db: Database
    policies: Mapping[str, BudgetPolicy] = field(default_factory=lambda: POLICIES)
    max_wait: float = 2.0  # wait this long in the worker; a longer wait puts the write back
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def acquire(self, shop_id: int, platform: str) -> float:
        """0.0 once the call may go ahead (after waiting up to `max_wait`), else the seconds the
        caller should put the write back by."""
        policy = self.policies.get(platform)
        if policy is None:
            return 0.0
        waited = 0.0
        while (wait := take(self.db, shop_id, policy, clock=self.clock)) > 0:
            metrics.budget_wait(platform, wait)
            if waited + wait > self.max_wait:
                return wait
            self.sleep(wait)
            waited += wait
        return 0.0
