"""Properties over the real database: partial refunds summing to the order take back exactly what
it earned, and every member's cached balance equals the sum of their ledger."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from integration.crypto import SecretBox
from integration.db.tables import ledger_entries, members
from integration.events import Amounts, Customer, OrderCancelled, OrderPaid, OrderRefunded
from integration.services import record_cancellation, record_order_paid, record_refund
from integration.shops import add_shop

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
ids = count()

cents = st.integers(min_value=1, max_value=500_000)


@st.composite
def order_and_refunds(draw):  # type: ignore[no-untyped-def]
    total = draw(cents)
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=total - 1), max_size=6, unique=True))) if total > 1 else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total])]
    return Decimal(total) / 100, [Decimal(p) / 100 for p in draw(st.permutations(parts))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=order_and_refunds(), rate=st.sampled_from(["1", "1.5", "3", "0.1"]), cancel=st.booleans())
def test_refunds_summing_to_the_order_take_back_exactly_what_it_earned(db, case, rate, cancel):  # type: ignore[no-untyped-def]
    total, parts = case
    n = next(ids)
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "k"), platform="fake", domain=f"p{n}.example", now=NOW)
        from integration.redemption import update_program
        from integration.db import repo
        from integration.program import program_to_dict
        update_program(conn, shop_id, dict(program_to_dict(repo.current_program(conn, shop_id)),
                                           points_per_unit=rate, signup_bonus=0), NOW)
        earned = record_order_paid(conn, shop_id, OrderPaid(
            order_id="o", customer=Customer("c"), paid_at=NOW, currency="USD",
            amounts=Amounts(merchandise=total)), NOW).points
    for index, part in enumerate(parts[:-1] if cancel else parts):
        with db.write() as conn:
            record_refund(conn, shop_id, OrderRefunded(order_id="o", refund_id=str(index), refunded_at=NOW + timedelta(index),
                                                       amounts=Amounts(merchandise=part)), NOW)
    if cancel:
        with db.write() as conn:
            record_cancellation(conn, shop_id, OrderCancelled(order_id="o", cancelled_at=NOW), NOW)
    with db.read() as conn:
        ledger = conn.execute(select(func.coalesce(func.sum(ledger_entries.c.points), 0))
                              .where(ledger_entries.c.shop_id == shop_id)).scalar_one()
        balance = conn.execute(select(members.c.balance).where(members.c.shop_id == shop_id)).scalar_one()
    assert earned == int(total * Decimal(rate))
    assert ledger == 0
    assert balance == ledger
