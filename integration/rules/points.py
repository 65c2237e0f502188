"""Points earned by an order and given back by its refunds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from integration.events import Amounts, OrderPaid
from integration.program import EarningBasis, Program


@dataclass(frozen=True, slots=True)
class Earned:
    source_key: str
    points: int
    eligible: Decimal
    multiplier: Decimal


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str


def eligible_amount(amounts: Amounts, basis: EarningBasis) -> Decimal:
    """Merchandise (+ shipping, taxes, gift cards when the basis says so); never tips; never < 0."""
    total = amounts.merchandise
    if basis.include_shipping:
        total += amounts.shipping
    if basis.include_taxes:
        total += amounts.taxes
    if basis.include_gift_cards:
        total += amounts.gift_cards
    return max(total, Decimal("0"))


def floor_points(value: Decimal) -> int:
    """The one rounding rule: floor to a whole point."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def earn_multiplier(program: Program, *, tier: str | None, plan_ids: tuple[str, ...], paid_at: datetime) -> Decimal:
    """tier multiplier × the best active membership plan's multiplier × every campaign active at
    `paid_at` (active flag on and starts_at <= paid_at < ends_at)."""
    multiplier = Decimal("1")
    for level in program.tiers:
        if level.name == tier:
            multiplier *= level.multiplier
    plan_multipliers = [plan.multiplier for plan in program.plans if plan.plan_id in plan_ids]
    if plan_multipliers:
        multiplier *= max(plan_multipliers)
    for campaign in program.campaigns:
        if campaign.active and campaign.starts_at <= paid_at < campaign.ends_at:
            multiplier *= campaign.multiplier
    return multiplier


def points_for_order(order: OrderPaid, program: Program, *, tier: str | None,
                     plan_ids: tuple[str, ...]) -> Earned | Skipped:
    """Points for a paid order: floor(eligible × points_per_unit × earn_multiplier) with
    source key `order:<order_id>:earn`; Skipped("nothing eligible") when that is 0."""
    eligible = eligible_amount(order.amounts, program.basis)
    multiplier = earn_multiplier(program, tier=tier, plan_ids=plan_ids, paid_at=order.paid_at)
    points = floor_points(eligible * program.points_per_unit * multiplier)
    if points <= 0:
        return Skipped("nothing eligible")
    return Earned(f"order:{order.order_id}:earn", points, eligible, multiplier)


def points_to_reverse(*, earned_points: int, order_eligible: Decimal,
                      refunded_before: Decimal, refund_eligible: Decimal) -> int:
    """Points (>= 0) this refund gives back, cumulative as in the package docstring:
    floor(P × min(before + this, E) / E) - floor(P × min(before, E) / E). E == 0 → 0."""
    if earned_points <= 0 or order_eligible <= 0:
        return 0

    def given_back(refunded: Decimal) -> int:
        return int(earned_points * min(refunded, order_eligible) // order_eligible)  # exact

    before = max(refunded_before, Decimal("0"))
    return given_back(before + max(refund_eligible, Decimal("0"))) - given_back(before)
