"""Paid memberships: a plan is bought as a store product, so the store's own order events start,
extend and end it; nothing is charged or renewed by us.

- A paid order with a line whose product id or variant id is in `plan.product_ids` buys
  `period_months × quantity` months of that plan.
- If the member holds the same plan and it is still active (grace included) when the order is
  paid, the months are added to the current end: renewing early or in the grace period loses
  nothing. Otherwise (no membership, a lapsed one, or another plan) it starts at `paid_at` and
  replaces what was there.
- A refund that gives back a plan line, or a cancellation, of an order that bought the current
  membership ends it at the refund's time: the fee is what the membership is for.
Everything follows the events' own times, never the clock, so a late or replayed webhook gives
the same answer. The service applies each order once (a source key such as `membership:<order>`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from integration.events import LineItem, OrderCancelled, OrderPaid, OrderRefunded
from integration.program import MembershipPlan, Program
from integration.rules.calendar import add_months


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """What to store. `starts_at` is set only when a new membership starts ("started",
    "switched"); for "extended" and "ended" only `ends_at` changes."""

    plan_id: str
    order_id: str
    reason: str  # "started", "extended", "switched", "ended"
    ends_at: datetime
    starts_at: datetime | None = None


def is_active(ends_at: datetime | None, grace_days: int, now: datetime) -> bool:
    """Benefits apply until `ends_at` plus the plan's grace days (exclusive)."""
    return ends_at is not None and now < ends_at + timedelta(days=grace_days)


def _is_plan_line(line: LineItem, plan: MembershipPlan) -> bool:
    return line.product_id in plan.product_ids or line.variant_id in plan.product_ids


def plan_in_order(lines: tuple[LineItem, ...], program: Program) -> tuple[MembershipPlan, int] | None:
    """The first plan (in program order) with a line among `lines`, and the units bought.
    Validation keeps a product in one plan only, so "first" only matters for odd carts."""
    for plan in program.plans:
        units = sum(max(line.quantity, 0) for line in lines if _is_plan_line(line, plan))
        if units > 0:
            return plan, units
    return None


def membership_from_order(order: OrderPaid, program: Program, *, current_plan_id: str | None,
                          current_ends_at: datetime | None, now: datetime) -> MembershipChange | None:
    """The change a paid order makes, or None if it buys no plan. `now` is accepted for a
    uniform signature but unused: the answer depends on `paid_at` only (see module docstring)."""
    del now
    found = plan_in_order(order.line_items, program)
    if found is None:
        return None
    plan, units = found
    months = plan.period_months * units
    if current_plan_id == plan.plan_id and current_ends_at is not None \
            and is_active(current_ends_at, plan.grace_days, order.paid_at):
        return MembershipChange(plan.plan_id, order.order_id, "extended",
                                ends_at=add_months(current_ends_at, months))
    reason = "switched" if current_plan_id not in (None, plan.plan_id) and current_ends_at is not None \
        and current_ends_at > order.paid_at else "started"
    return MembershipChange(plan.plan_id, order.order_id, reason,
                            ends_at=add_months(order.paid_at, months), starts_at=order.paid_at)


def membership_after_refund(event: OrderRefunded | OrderCancelled, program: Program, *,
                            membership_order_ids: tuple[str, ...], current_plan_id: str | None,
                            current_ends_at: datetime | None) -> MembershipChange | None:
    """"ended" at the refund (or cancellation) time when `event` is about one of
    `membership_order_ids` (the orders that started or extended the current membership) and
    either cancels it or refunds a line of the current plan. None when nothing changes: another
    order, no plan line refunded, or a membership already over by then."""
    if isinstance(membership_order_ids, str):
        raise TypeError("membership_order_ids must be a tuple of ids, not one string")
    if current_plan_id is None or current_ends_at is None or event.order_id not in membership_order_ids:
        return None
    if isinstance(event, OrderCancelled):
        at = event.cancelled_at
    else:
        plan = next((p for p in program.plans if p.plan_id == current_plan_id), None)
        if plan is None or not any(_is_plan_line(line, plan) for line in event.line_items):
            return None
        at = event.refunded_at
    if at >= current_ends_at:
        return None
    return MembershipChange(current_plan_id, event.order_id, "ended", ends_at=at)
