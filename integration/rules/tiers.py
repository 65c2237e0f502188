"""Tiers: which level a member's qualifying total over the rolling window supports, and when
their level changes.

Promotion is immediate; demotion waits for the end of the member's window (DESIGN): a member who
reached Gold keeps it for `tier_window_months` even if old orders fall out of the window, and at
the window's end either renews (still qualifies) or moves to the tier the total then supports.
Tiers are ranked by threshold, so the program's list order does not matter here.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from integration.program import Program, Tier
from integration.rules.calendar import add_months

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class Qualifying:
    """One order's contribution to tier qualification, net of its refunds and dated by the order
    (`paid_at`), so a refund lowers the order it belongs to and leaves the window with it.

    `spend`: eligible spend minus refunded eligible; `points`: points the order earned minus
    those its refunds took back; `orders`: 1, or 0 once the order is cancelled or fully refunded.
    Bonus points (signup, referral) may be given as entries with spend 0 and orders 0.
    """

    at: datetime
    spend: Decimal = ZERO
    points: int = 0
    orders: int = 0


@dataclass(frozen=True, slots=True)
class TierDecision:
    """`changed`: the tier differs from the current one (tags to write, an email to send).
    `until` can move without it (a renewal): compare it with the stored value to persist it."""

    tier: str | None
    until: datetime | None
    changed: bool
    reason: str  # "promoted", "demoted", "renewed", "kept", "tier removed", "no tier"


def window_start(program: Program, now: datetime) -> datetime:
    """The start of the rolling window ending at `now` (calendar months back)."""
    return add_months(now, -program.tier_window_months)


def qualifying_total(activity: Iterable[Qualifying], program: Program, now: datetime) -> Decimal:
    """The sum, under the program's `tier_qualification`, of activity with
    window_start < at <= now; never below 0."""
    start = window_start(program, now)
    total = ZERO
    for item in activity:
        if start < item.at <= now:
            if program.tier_qualification == "spend":
                total += item.spend
            elif program.tier_qualification == "points":
                total += item.points
            else:
                total += item.orders
    return max(total, ZERO)


def _ranked(program: Program) -> list[Tier]:
    return sorted(program.tiers, key=lambda tier: tier.threshold)


def _rank(name: str | None, program: Program) -> int | None:
    """-1 for no tier, the index by threshold for a tier, None for a name the program lacks."""
    if name is None:
        return -1
    for index, tier in enumerate(_ranked(program)):
        if tier.name == name:
            return index
    return None


def _reached(value: Decimal, program: Program) -> int:
    """The rank of the highest tier whose threshold <= value; -1 for none."""
    return sum(1 for tier in program.tiers if tier.threshold <= value) - 1


def tier_for(value: Decimal, program: Program) -> str | None:
    """The highest tier whose threshold <= value; None below the lowest one (or without tiers)."""
    rank = _reached(value, program)
    return _ranked(program)[rank].name if rank >= 0 else None


def tier_after(*, current: str | None, current_until: datetime | None, qualifying_value: Decimal,
               program: Program, now: datetime) -> TierDecision:
    """The member's tier after looking at `qualifying_value` at `now`.

    - higher tier supported: promoted now, until = now + window;
    - same tier: kept; at or after `current_until` it is renewed for a new window;
    - lower tier (or none): kept until `current_until`; from then, demoted to what the value
      supports, with a new window (until None when that is no tier);
    - current tier deleted from the program: moved at once to what the value supports.
    A tier with no `current_until` is treated as out of its window.
    """
    target = tier_for(qualifying_value, program)
    target_rank = _reached(qualifying_value, program)
    current_rank = _rank(current, program)
    new_window = add_months(now, program.tier_window_months)
    window_over = current_until is None or now >= current_until
    if current_rank is None:
        return TierDecision(target, new_window if target else None, True, "tier removed")
    if target_rank > current_rank:
        return TierDecision(target, new_window, True, "promoted")
    if current is None:
        return TierDecision(None, None, False, "no tier")
    if target_rank == current_rank:
        if window_over:
            return TierDecision(current, new_window, False, "renewed")
        return TierDecision(current, current_until, False, "kept")
    if window_over:
        return TierDecision(target, new_window if target else None, True, "demoted")
    return TierDecision(current, current_until, False, "kept")


def next_tier(value: Decimal, current: str | None, program: Program) -> tuple[Tier | None, Decimal]:
    """The next tier above both `current` and what `value` supports, and how much more
    qualifying value it needs; (None, 0) at the top. An unknown `current` counts as no tier."""
    current_rank = _rank(current, program)
    floor_rank = max(-1 if current_rank is None else current_rank, _reached(value, program))
    for index, tier in enumerate(_ranked(program)):
        if index > floor_rank:
            return tier, max(tier.threshold - value, ZERO)
    return None, ZERO
