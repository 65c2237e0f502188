"""The per-shop store budget shared by all workers: a token bucket row taken under a lock."""
from __future__ import annotations

import threading

from sqlalchemy import select

from integration.budgets import BudgetPolicy, Budgets, observe, take
from integration.crypto import SecretBox
from integration.db.tables import outbox, store_budgets
from integration.outbox import enqueue
from integration.shops import add_shop

SHOPIFY = BudgetPolicy(maximum=1000.0, restore_rate=100.0, call_cost=10.0)


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def a_shop(db, domain: str = "budget.myshopify.com") -> int:  # type: ignore[no-untyped-def]
    with db.write() as conn:
        return add_shop(conn, SecretBox("", "k"), platform="shopify", domain=domain, now=__import__("datetime").datetime.now(
            __import__("datetime").timezone.utc))


def test_a_full_bucket_pays_for_its_size_then_waits_for_the_restore_rate(db):  # type: ignore[no-untyped-def]
    shop_id, clock = a_shop(db), Wall()
    # when 100 calls of cost 10 are taken at one instant
    granted = [take(db, shop_id, SHOPIFY, clock=clock) for _ in range(100)]
    # then all pass, and the next must wait for 10 points at 100/s
    assert granted == [0.0] * 100
    assert take(db, shop_id, SHOPIFY, clock=clock) == 0.1
    clock.now += 0.1
    assert take(db, shop_id, SHOPIFY, clock=clock) == 0.0


def test_the_store_report_resets_the_bucket(db):  # type: ignore[no-untyped-def]
    shop_id, clock = a_shop(db), Wall()
    take(db, shop_id, SHOPIFY, clock=clock)
    # when Shopify says (Plus plan) 40 of 2000 are left, restoring 1000/s
    observe(db, "shopify", "budget.myshopify.com", {"maximumAvailable": 2000.0, "currentlyAvailable": 40,
                                                    "restoreRate": 1000.0}, clock=clock)
    # then the shared row says so, and a call of 50 waits 10 ms
    with db.read() as conn:
        row = conn.execute(select(store_budgets)).one()
    assert (row.available, row.maximum, row.restore_rate) == (40.0, 2000.0, 1000.0)
    assert take(db, shop_id, SHOPIFY, cost=50, clock=clock) == 0.01
    observe(db, "shopify", "budget.myshopify.com", {"currentlyAvailable": "x"}, clock=clock)  # ignored


def test_racing_workers_never_spend_more_than_the_bucket(db):  # type: ignore[no-untyped-def]
    # given a bucket of 100 that restores almost nothing, and 8 workers each trying 5 calls of 10
    shop_id, clock = a_shop(db), Wall()
    policy = BudgetPolicy(maximum=100.0, restore_rate=1e-9, call_cost=10.0)
    granted: list[float] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5):
            granted.append(take(db, shop_id, policy, clock=clock))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # then exactly ten calls went ahead
    assert (len(granted), granted.count(0.0)) == (40, 10)


def test_the_runner_puts_a_write_back_when_the_budget_is_spent(service):  # type: ignore[no-untyped-def]
    # given a budget of one call for the fake platform, and two store writes due
    db, now = service.runtime.db, service.runtime.clock()
    with db.write() as conn:
        for customer in ("c1", "c2"):
            enqueue(conn, service.shop_id, "tag_customer", {"customer_id": customer, "add": ["vip"]},
                    dedupe_key=f"tag:{customer}", now=now)
    runner = service.runtime.outbox_runner()
    runner.budgets = Budgets(db, policies={"fake": BudgetPolicy(10.0, 0.5, 10.0)}, max_wait=0.0)
    # when
    assert runner.run_due(now) == 2
    # then one call was made, the other waits ~20 s without having used an attempt
    assert [name for name, _ in service.platform.calls] == ["tag_customer"]
    with db.read() as conn:
        rows = conn.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.next_attempt_at).order_by(outbox.c.id)).fetchall()
    assert [(row.status, row.attempts) for row in rows] == [("done", 1), ("pending", 0)]
    waited = (rows[1].next_attempt_at.replace(tzinfo=None) - now.replace(tzinfo=None)).total_seconds()
    assert 19 < waited <= 20
