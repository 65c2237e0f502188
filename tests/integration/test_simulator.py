"""The simulator replays recorded orders through the rule engine: under the current program it
gives what the ledger gave; under a proposed one, what that would have given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from integration.program import Campaign, Program, Reward, Tier
from integration.simulator import historic_order, load_orders, point_value, simulate
from integration.views import stats_view
from tests.integration.admin_helpers import place_orders

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def test_current_program_reproduces_the_ledger(service):  # type: ignore[no-untyped-def]
    # given orders and a partial refund recorded by the real service
    place_orders(service, [("1", "c1", "120.50"), ("2", "c1", "80"), ("3", "c2", "33.99")],
                 refunds=[("1", "r1", "20.25")])
    with service.runtime.db.read() as conn:
        history = load_orders(conn, service.shop_id)
        stats = stats_view(conn, service.shop_id)
    # when
    figures = simulate(Program(), history, service.runtime.clock())
    # then: signup 2 × 50 + 120 + 80 + 33 - floor(120 × 20.25 / 120.50) = 20
    assert figures.points_issued == 2 * 50 + 120 + 80 + 33 - 20
    assert figures.points_issued == stats["points_issued"] - stats_refunds(service)
    assert figures.orders == 3 and figures.members == 2
    assert figures.revenue == Decimal("234.49")


def stats_refunds(service) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from integration.db.tables import ledger_entries
    with service.runtime.db.read() as conn:
        return -int(conn.execute(select(func.sum(ledger_entries.c.points))
                                 .where(ledger_entries.c.kind == "refund")).scalar_one())


def test_figures_of_a_proposed_program():  # type: ignore[no-untyped-def]
    # given three customers' orders
    day = timedelta(days=1)
    history = sorted([
        historic_order("a", NOW - 40 * day, Decimal("100")), historic_order("a", NOW - 30 * day, Decimal("150")),
        historic_order("a", NOW - 20 * day, Decimal("300")), historic_order("b", NOW - 10 * day, Decimal("60")),
        historic_order("c", NOW - 5 * day, Decimal("500"), refunded=Decimal("500")),
    ], key=lambda o: o[1])
    program = Program(points_per_unit=Decimal(2), signup_bonus=0,
                      rewards=(Reward("r", "$10 off", "amount_off", 400, Decimal(10)),),
                      tiers=(Tier("Red", Decimal(0)), Tier("Gold", Decimal(250), Decimal("1.5"))))
    # when
    figures = simulate(program, history, NOW)
    # then: a earns 200, then 300 (Red), then Gold: 300 × 2 × 1.5 = 900; b 120; c 1000 refunded in full
    assert figures.points_issued == 200 + 300 + 900 + 120
    assert figures.members_with_reward == 1 and figures.average_orders_to_first_reward == Decimal("2.0")
    assert figures.members_per_tier == {"Red": 2, "Gold": 1, "none": 0}
    assert point_value(program) == Decimal("0.025")
    assert figures.liability == Decimal("38.00")  # 1520 points × 0.025
    assert figures.reward_cost_share == Decimal(1520) * Decimal("0.025") / Decimal("1110")


def test_campaign_and_expiry_are_replayed():  # type: ignore[no-untyped-def]
    start = NOW - timedelta(days=400)
    history = [historic_order("a", start, Decimal("100")), historic_order("a", NOW - timedelta(days=3), Decimal("100"))]
    program = Program(signup_bonus=10, expiry_months=12, campaigns=(
        Campaign("x2", "Double", Decimal(2), NOW - timedelta(days=7), NOW),))
    figures = simulate(program, history, NOW)
    assert figures.points_issued == 10 + 100 + 200
    assert figures.liability_points == 200  # the signup bonus and first order expired


def test_progress_is_reported():  # type: ignore[no-untyped-def]
    seen: list[tuple[int, int]] = []
    history = [historic_order(i, NOW - timedelta(minutes=10 - i), Decimal("5")) for i in range(10)]
    simulate(Program(), history, NOW, progress=lambda done, total: seen.append((done, total)), every=4)
    assert seen == [(4, 10), (8, 10), (10, 10)]
