"""Races: many deliveries of one order at once, many redemptions against one balance at once.
Run on both databases; on PostgreSQL these are real concurrent transactions with row locks."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from integration.db.tables import inbox, ledger_entries, members, redemptions
from integration.events import Amounts, Customer, OrderPaid
from integration.redemption import InsufficientPointsError, redeem
from integration.services import record_order_paid
from tests.fakes import order_body
from webhooks.inbox import Worker

THREADS = 50


def test_fifty_threads_delivering_the_same_order_credit_once(service):  # type: ignore[no-untyped-def]
    body = order_body("race-1", "racer", "120.00")

    def deliver(index: int) -> int:
        return service.deliver("order/paid", body, f"delivery-{index % 5}").status_code

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(deliver, range(THREADS)))

    def work(_: int) -> int:
        return Worker(service.runtime.db, service.runtime.platforms, batch_size=1).drain(service.runtime.clock())

    with ThreadPoolExecutor(5) as pool:
        list(pool.map(work, range(5)))
    assert statuses == [200] * THREADS
    with service.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 5
        assert conn.execute(select(inbox.c.status).distinct()).scalars().all() == ["done"]
        assert conn.execute(select(members.c.balance)).scalar_one() == 50 + 120
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one() == 2


def test_fifty_transactions_recording_the_same_order_at_once_credit_once(db, clock):  # type: ignore[no-untyped-def]
    from integration.shops import add_shop
    from integration.crypto import SecretBox
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "k"), platform="fake", domain="race.example", now=clock())
    order = OrderPaid(order_id="race-2", customer=Customer("c-race"), paid_at=clock(), currency="USD",
                      amounts=Amounts(merchandise=__import__("decimal").Decimal("75.50")))

    def record(_: int) -> int:
        with db.write() as conn:
            return record_order_paid(conn, shop_id, order, clock()).points

    with ThreadPoolExecutor(THREADS) as pool:
        credited = list(pool.map(record, range(THREADS)))
    assert sorted(credited) == [0] * (THREADS - 1) + [75]
    with db.read() as conn:
        assert conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one() == 50 + 75
        assert conn.execute(select(members.c.balance)).scalar_one() == 50 + 75


def test_fifty_concurrent_redemptions_never_overspend(service):  # type: ignore[no-untyped-def]
    service.deliver("order/paid", order_body("rich", "rich", "950.00"))  # 1,000 points
    service.work()
    member_id = service.api("GET", "/members?customer_id=rich").json()["members"][0]["id"]
    db, clock = service.runtime.db, service.runtime.clock

    def attempt(index: int) -> str:
        try:
            with db.write() as conn:
                redeem(conn, service.shop_id, member_id, "r200", clock(), idempotency_key=f"k{index}")
            return "ok"
        except InsufficientPointsError:
            return "refused"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    assert outcomes.count("ok") == 5 and outcomes.count("refused") == THREADS - 5
    with db.read() as conn:
        assert conn.execute(select(members.c.balance)).scalar_one() == 0
        assert conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(redemptions)).scalar_one() == 5
