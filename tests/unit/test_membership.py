"""Paid memberships started, extended and ended by the store's own order events."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from integration.events import Amounts, Customer, LineItem, OrderCancelled, OrderPaid, OrderRefunded
from integration.program import MembershipPlan, Program
from integration.rules.membership import (
    MembershipChange,
    is_active,
    membership_after_refund,
    membership_from_order,
    plan_in_order,
)

UTC = timezone.utc
PAID_AT = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
NOW = datetime(2025, 2, 1, tzinfo=UTC)
YEARLY = MembershipPlan("vip-year", "VIP yearly", ("prod-vip-year",), period_months=12, grace_days=7)
MONTHLY = MembershipPlan("vip-month", "VIP monthly", ("var-vip-month",), period_months=1)
PROGRAM = Program(plans=(YEARLY, MONTHLY))
SOCKS = LineItem("prod-socks", "var-socks", 2, Decimal("20"))
VIP_LINE = LineItem("prod-vip-year", None, 1, Decimal("99"))
A_YEAR_LATER = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def paid(*lines: LineItem, order_id: str = "1001", paid_at: datetime = PAID_AT) -> OrderPaid:
    return OrderPaid(order_id=order_id, customer=Customer("c1"), paid_at=paid_at, currency="USD",
                     amounts=Amounts(merchandise=Decimal("99")), line_items=lines)


def refund(*lines: LineItem, order_id: str = "1001", at: datetime = NOW) -> OrderRefunded:
    return OrderRefunded(order_id=order_id, refund_id="r1", refunded_at=at, amounts=Amounts(), line_items=lines)


def test_is_active_until_the_end_plus_grace_days():
    end = datetime(2025, 3, 1, tzinfo=UTC)

    assert is_active(end, 0, datetime(2025, 2, 28, 23, 59, tzinfo=UTC)) is True
    assert is_active(end, 0, end) is False
    assert is_active(end, 7, datetime(2025, 3, 7, 23, 59, tzinfo=UTC)) is True
    assert is_active(end, 7, datetime(2025, 3, 8, tzinfo=UTC)) is False
    assert is_active(None, 7, end) is False


def test_an_order_without_a_plan_product_changes_nothing():
    assert membership_from_order(paid(SOCKS), PROGRAM, current_plan_id=None, current_ends_at=None, now=NOW) is None


def test_a_paid_plan_product_starts_the_membership_at_payment():
    change = membership_from_order(paid(SOCKS, VIP_LINE), PROGRAM,
                                   current_plan_id=None, current_ends_at=None, now=NOW)

    assert change == MembershipChange("vip-year", "1001", "started", ends_at=A_YEAR_LATER,
                                      starts_at=PAID_AT)


def test_a_variant_id_matches_too_and_each_unit_buys_a_period():
    # given three monthly units bought on 31 January
    change = membership_from_order(paid(LineItem("prod-x", "var-vip-month", 3, Decimal("30"))), PROGRAM,
                                   current_plan_id=None, current_ends_at=None, now=NOW)
    # then three calendar months, the day clamped to April's end
    end_of_april = datetime(2025, 4, 30, 10, 0, tzinfo=UTC)
    assert change == MembershipChange("vip-month", "1001", "started", ends_at=end_of_april, starts_at=PAID_AT)


def test_renewing_an_active_membership_extends_it_from_its_current_end():
    current_end = datetime(2025, 3, 10, tzinfo=UTC)

    change = membership_from_order(paid(VIP_LINE), PROGRAM,
                                   current_plan_id="vip-year", current_ends_at=current_end, now=NOW)

    assert change == MembershipChange("vip-year", "1001", "extended", ends_at=datetime(2026, 3, 10, tzinfo=UTC))


def test_renewing_in_the_grace_period_loses_no_time():
    # given a membership that ended 5 days before payment, with 7 grace days
    current_end = datetime(2025, 1, 26, tzinfo=UTC)

    change = membership_from_order(paid(VIP_LINE), PROGRAM,
                                   current_plan_id="vip-year", current_ends_at=current_end, now=NOW)

    assert change == MembershipChange("vip-year", "1001", "extended", ends_at=datetime(2026, 1, 26, tzinfo=UTC))


def test_buying_again_after_a_lapse_starts_a_new_membership():
    current_end = datetime(2024, 12, 1, tzinfo=UTC)

    change = membership_from_order(paid(VIP_LINE), PROGRAM,
                                   current_plan_id="vip-year", current_ends_at=current_end, now=NOW)

    assert change == MembershipChange("vip-year", "1001", "started", ends_at=A_YEAR_LATER,
                                      starts_at=PAID_AT)


def test_buying_another_plan_while_active_switches_from_payment():
    change = membership_from_order(paid(VIP_LINE), PROGRAM,
                                   current_plan_id="vip-month", current_ends_at=datetime(2025, 2, 20, tzinfo=UTC),
                                   now=NOW)

    assert change == MembershipChange("vip-year", "1001", "switched", ends_at=A_YEAR_LATER,
                                      starts_at=PAID_AT)


def test_the_answer_follows_paid_at_not_the_clock():
    # given a webhook that arrives a month late, after the current membership ran out
    late = datetime(2025, 4, 1, tzinfo=UTC)
    current_end = datetime(2025, 3, 10, tzinfo=UTC)

    change = membership_from_order(paid(VIP_LINE), PROGRAM,
                                   current_plan_id="vip-year", current_ends_at=current_end, now=late)

    assert change == MembershipChange("vip-year", "1001", "extended", ends_at=datetime(2026, 3, 10, tzinfo=UTC))


def test_plan_in_order_ignores_zero_quantity_lines():
    assert plan_in_order((LineItem("prod-vip-year", None, 0, Decimal("0")),), PROGRAM) is None


def test_refunding_the_plan_line_ends_the_membership_at_the_refund():
    change = membership_after_refund(refund(VIP_LINE), PROGRAM,
                                     membership_order_ids=("1001",), current_plan_id="vip-year",
                                     current_ends_at=datetime(2026, 1, 31, tzinfo=UTC))

    assert change == MembershipChange("vip-year", "1001", "ended", ends_at=NOW)


def test_cancelling_the_order_that_bought_it_ends_the_membership():
    cancelled = OrderCancelled(order_id="1002", cancelled_at=NOW)

    change = membership_after_refund(cancelled, PROGRAM, membership_order_ids=("1001", "1002"),
                                     current_plan_id="vip-year", current_ends_at=datetime(2027, 1, 31, tzinfo=UTC))

    assert change == MembershipChange("vip-year", "1002", "ended", ends_at=NOW)


def test_refunding_other_lines_of_the_plan_order_keeps_the_membership():
    assert membership_after_refund(refund(SOCKS), PROGRAM, membership_order_ids=("1001",), current_plan_id="vip-year",
                                   current_ends_at=datetime(2026, 1, 31, tzinfo=UTC)) is None


def test_refunds_of_other_orders_or_after_the_end_change_nothing():
    other_order = refund(VIP_LINE, order_id="999")
    ids = ("1001",)

    assert membership_after_refund(other_order, PROGRAM, membership_order_ids=ids, current_plan_id="vip-year",
                                   current_ends_at=A_YEAR_LATER) is None
    assert membership_after_refund(refund(VIP_LINE), PROGRAM, membership_order_ids=ids, current_plan_id="vip-year",
                                   current_ends_at=datetime(2025, 1, 15, tzinfo=UTC)) is None
    assert membership_after_refund(refund(VIP_LINE), PROGRAM, membership_order_ids=ids, current_plan_id=None,
                                   current_ends_at=None) is None


def test_one_order_id_as_a_string_is_refused():
    with pytest.raises(TypeError):
        membership_after_refund(refund(), PROGRAM, membership_order_ids="1001",  # type: ignore[arg-type]
                                current_plan_id="vip-year", current_ends_at=NOW)
