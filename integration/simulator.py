"""What a program would have done over a shop's real order history (the settings page's preview
and `loyalty simulate`).

The replay uses the rule engine's own pieces: `rules.points.earn_multiplier` (tier × campaigns,
cached per tier and campaign period), the one rounding rule (floor per order), `points_to_reverse`
for refunds and `rules.tiers.tier_after` for every promotion, renewal and demotion. The loop over
orders is a plain loop over tuples so that a million orders take seconds, not minutes.

What it assumes, so the figures compare two programs fairly rather than predict the future:
- every customer in the history is a member from their first order (signup bonus then);
- nobody redeems: `liability` is every point still held at the end (after expiry, if the program
  expires points), i.e. the most the shop could owe;
- the eligible amount of each order is the one stored when it was paid: a change of the earning
  basis (shipping, taxes, gift cards) is not replayed;
- a refund is taken back at once, from the order it belongs to (cumulative, as the ledger does);
- paid memberships are not replayed (plan purchases are not in the order history);
- points are turned into money at the value per point of the cheapest `amount_off` reward
  (its value / its points cost): that is what a point is worth to a customer who redeems at
  the first step. Without an amount_off reward, money figures are None.
"""
from __future__ import annotations

import csv
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TextIO

from integration.program import Program
from integration.rules import tiers as tier_rules
from integration.rules.calendar import add_months
from integration.rules.points import earn_multiplier, points_to_reverse

ZERO = Decimal("0")
ONE_MICROSECOND = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)
NEVER = math.inf

# (member key, paid_at as POSIX seconds, eligible, total and refunded eligible in cents), by paid_at.
# Plain numbers keep the loop fast; cents keep it exact: floor(eligible × factor) is computed as
# (cents × numerator) // (100 × denominator) of the factor's exact ratio.
HistoricOrder = tuple[Any, float, int, int, int]
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Figures:
    orders: int
    members: int
    revenue: Decimal
    points_issued: int  # signup bonuses + order points, net of refunds
    signup_points: int
    members_with_reward: int  # could afford at least the cheapest reward by the end
    average_orders_to_first_reward: Decimal | None
    members_per_tier: dict[str, int] = field(default_factory=dict)
    point_value: Decimal | None = None  # money per point (see module docstring)
    reward_cost_share: Decimal | None = None  # points_issued × point_value / revenue
    liability_points: int = 0
    liability: Decimal | None = None


def point_value(program: Program) -> Decimal | None:
    """Money per point: the cheapest enabled amount_off reward's value / points cost."""
    offers = sorted((r for r in program.rewards if r.enabled and r.kind == "amount_off" and r.points_cost > 0),
                    key=lambda r: r.points_cost)
    return offers[0].value / offers[0].points_cost if offers else None


def _first_cost(program: Program) -> int | None:
    costs = [r.points_cost for r in program.rewards if r.enabled]
    return min(costs) if costs else None


def _factor_table(program: Program) -> tuple[list[float], list[list[tuple[int, int]]]]:
    """Campaign period boundaries, and for each [tier rank + 1][campaign period] the exact ratio
    (numerator, 100 × denominator) of points_per_unit × `earn_multiplier`: the rule engine is
    asked once per tier and period."""
    active = [c for c in program.campaigns if c.active]
    bounds = sorted({c.starts_at for c in active} | {c.ends_at for c in active})
    moments = [bounds[0] - ONE_MICROSECOND, *bounds] if bounds else [datetime(2000, 1, 1, tzinfo=timezone.utc)]
    names: list[str | None] = [None, *_ranked_names(program)]
    table = []
    for name in names:
        row = []
        for moment in moments:
            numerator, denominator = (program.points_per_unit
                                      * earn_multiplier(program, tier=name, plan_ids=(), paid_at=moment)).as_integer_ratio()
            row.append((numerator, 100 * denominator))
        table.append(row)
    return [b.timestamp() for b in bounds], table


def _ranked_names(program: Program) -> list[str]:
    return [t.name for t in sorted(program.tiers, key=lambda t: t.threshold)]


def _units(program: Program) -> int:
    """Tier totals are kept in cents for spend, in points or orders otherwise."""
    return 100 if program.tier_qualification == "spend" else 1


class _Member:
    __slots__ = ("tier", "rank", "until", "until_ts", "window", "qualifying", "points", "orders", "reached_after")

    def __init__(self) -> None:
        self.tier: str | None = None
        self.rank = -1  # the tier's index by threshold; -1: no tier
        self.until: datetime | None = None
        self.until_ts = NEVER
        self.window: deque[tuple[float, int]] = deque()
        self.qualifying = 0
        self.points = 0
        self.orders = 0
        self.reached_after = 0  # orders it took to afford the cheapest reward; 0: not yet


def simulate(program: Program, orders: Sequence[HistoricOrder], now: datetime, *,
             progress: Progress | None = None, every: int = 50_000) -> Figures:
    """Replay `orders` (sorted by paid_at) under `program`; see the module docstring."""
    bounds, factors = _factor_table(program)
    period, next_bound = 0, (bounds[0] if bounds else NEVER)
    signup, first_cost = program.signup_bonus, _first_cost(program) or 0
    units = _units(program)
    thresholds = [math.ceil(t.threshold * units) for t in sorted(program.tiers, key=lambda t: t.threshold)]
    names = _ranked_names(program)
    by_spend, by_points = program.tier_qualification == "spend", program.tier_qualification == "points"
    expiry_cutoff = add_months(now, -program.expiry_months).timestamp() if program.expiry_months else -NEVER
    window_start = next_midnight = -NEVER
    members: dict[Any, _Member] = {}
    total, report_at = len(orders), min(every, len(orders))
    issued = expired = revenue = 0
    for index, (key, paid_at, eligible, order_total, refunded) in enumerate(orders, 1):
        while paid_at >= next_bound:  # orders are sorted: campaign periods only move forward
            period += 1
            next_bound = bounds[period] if period < len(bounds) else NEVER
        member = members.get(key)
        if member is None:
            member = members[key] = _Member()
            member.points = signup
            issued += signup
            if paid_at <= expiry_cutoff:
                expired += signup
        revenue += order_total
        numerator, denominator = factors[member.rank + 1][period]
        points = eligible * numerator // denominator  # the one rounding rule: floor per order
        if refunded and points:
            points -= points_to_reverse(earned_points=points, order_eligible=Decimal(eligible),
                                        refunded_before=ZERO, refund_eligible=Decimal(refunded))
        issued += points
        member.points += points
        member.orders += 1
        if paid_at <= expiry_cutoff:
            expired += points
        if not member.reached_after and first_cost and member.points >= first_cost:
            member.reached_after = member.orders
        if thresholds:  # the rolling window, trimmed to whole days (see _decide_tier)
            if paid_at >= next_midnight:
                midnight = datetime.fromtimestamp(paid_at, timezone.utc).replace(hour=0, minute=0, second=0,
                                                                                 microsecond=0)
                next_midnight = (midnight + ONE_DAY).timestamp()
                window_start = add_months(midnight, -program.tier_window_months).timestamp()
            value = (eligible - refunded if by_spend else points if by_points
                     else (0 if refunded >= eligible > 0 else 1))
            window = member.window
            window.append((paid_at, value))
            qualifying = member.qualifying + value
            while window[0][0] < window_start:
                qualifying -= window.popleft()[1]
            member.qualifying = qualifying
            if bisect_right(thresholds, qualifying) - 1 > member.rank or paid_at >= member.until_ts:
                _decide_tier(member, program, thresholds, names, paid_at)
        if index == report_at and progress is not None:
            progress(index, total)
            report_at = min(report_at + every, total)
    if progress is not None and total == 0:
        progress(0, 0)
    return _figures(program, members, total, Decimal(revenue) / 100, issued, expired, now)


def _decide_tier(member: _Member, program: Program, thresholds: list[int], names: list[str],
                 paid_at: float) -> None:
    """Called only when the tier may change: a total above the current tier, or the end of the
    member's window. A promotion is decided here exactly as `rules.tiers.tier_after` decides it
    (at once, to the highest tier reached, with a new window: it is the common case, and the
    replay's hot spot); a renewal or demotion is left to `tier_after` itself. The simulator's
    window starts at midnight `tier_window_months` before the order's day, so an order can count
    up to a day longer than in the ledger: the figures compare programs, they are not the ledger."""
    moment = datetime.fromtimestamp(paid_at, timezone.utc)
    target = bisect_right(thresholds, member.qualifying) - 1
    if target > member.rank:
        member.rank, member.tier = target, names[target]
        member.until = add_months(moment, program.tier_window_months)
    else:
        decision = tier_rules.tier_after(current=member.tier, current_until=member.until,
                                         qualifying_value=Decimal(max(member.qualifying, 0)) / _units(program),
                                         program=program, now=moment)
        member.tier, member.until = decision.tier, decision.until
        member.rank = names.index(decision.tier) if decision.tier in names else -1
    member.until_ts = member.until.timestamp() if member.until else NEVER


def _tier_at_end(member: _Member, program: Program, now: datetime) -> str | None:
    """The member's tier at `now`: a window that ran out since the last order demotes."""
    if member.tier is None or member.until is None or now < member.until:
        return member.tier
    start = add_months(now, -program.tier_window_months).timestamp()
    value = sum((v for at, v in member.window if at > start), 0)
    return tier_rules.tier_after(current=member.tier, current_until=member.until,
                                 qualifying_value=Decimal(max(value, 0)) / _units(program), program=program,
                                 now=now).tier


def _figures(program: Program, members: dict[Any, _Member], total: int, revenue: Decimal, points_issued: int,
             expired: int, now: datetime) -> Figures:
    signup_points = program.signup_bonus * len(members)
    reached = [m.reached_after for m in members.values() if m.reached_after]
    per_tier: dict[str, int] = {}
    if program.tiers:
        for tier in program.tiers:
            per_tier[tier.name] = 0
        per_tier["none"] = 0
        for member in members.values():
            name = _tier_at_end(member, program, now) or "none"
            per_tier[name] = per_tier.get(name, 0) + 1
    value = point_value(program)
    liability_points = points_issued - expired
    return Figures(
        orders=total, members=len(members), revenue=revenue, points_issued=points_issued,
        signup_points=signup_points, members_with_reward=len(reached),
        average_orders_to_first_reward=(Decimal(sum(reached)) / len(reached)).quantize(Decimal("0.1")) if reached else None,
        members_per_tier=per_tier, point_value=value,
        reward_cost_share=(points_issued * value / revenue) if value is not None and revenue > 0 else None,
        liability_points=liability_points,
        liability=(liability_points * value).quantize(Decimal("0.01")) if value is not None else None,
    )


# -- where orders come from ------------------------------------------------------------------

def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def cents(amount: Decimal | int | str) -> int:
    """Money as whole cents (half up beyond the second decimal)."""
    return int((Decimal(amount) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def historic_order(key: Any, paid_at: datetime, eligible: Decimal, total: Decimal | None = None,
                   refunded: Decimal = ZERO) -> HistoricOrder:
    return (key, _aware(paid_at).timestamp(), cents(eligible), cents(eligible if total is None else total),
            cents(refunded))


def load_orders(conn: Any, shop_id: int) -> list[HistoricOrder]:
    """The shop's recorded orders with their refunded eligible amounts, oldest first."""
    from sqlalchemy import func, select

    from integration.db.tables import order_refunds, orders
    refunds = (select(order_refunds.c.order_id, func.sum(order_refunds.c.eligible).label("refunded"))
               .where(order_refunds.c.shop_id == shop_id).group_by(order_refunds.c.order_id).subquery())
    statement = (
        select(orders.c.member_id, orders.c.paid_at, orders.c.eligible, orders.c.total,
               func.coalesce(refunds.c.refunded, 0))
        .select_from(orders.outerjoin(refunds, refunds.c.order_id == orders.c.order_id))
        .where(orders.c.shop_id == shop_id).order_by(orders.c.paid_at, orders.c.id)
    )
    return [historic_order(member_id, paid_at, eligible, total, refunded)
            for member_id, paid_at, eligible, total, refunded in conn.execute(statement)]


def read_orders_csv(stream: TextIO) -> list[HistoricOrder]:
    """Orders from a CSV with a header: `customer_id` (or `member`), `paid_at` (ISO 8601; UTC when
    no offset), `eligible`, optional `total` (default: eligible) and `refunded` (default 0).
    Raises ValueError naming the first bad line."""
    rows: list[HistoricOrder] = []
    for line, record in enumerate(csv.DictReader(stream), 2):
        try:
            key = record.get("customer_id") or record.get("member")
            if not key:
                raise ValueError("customer_id is empty")
            rows.append(historic_order(key, datetime.fromisoformat(record["paid_at"]), Decimal(record["eligible"]),
                                       Decimal(record["total"]) if record.get("total") else None,
                                       Decimal(record.get("refunded") or 0)))
        except (KeyError, ValueError, ArithmeticError) as error:
            raise ValueError(f"line {line}: {error}") from None
    rows.sort(key=lambda row: row[1])
    return rows


def figure_rows(current: Figures, proposed: Figures, currency: str = "") -> list[tuple[str, str, str]]:
    """(label, current, proposed) for a table or the command line."""
    def money(value: Decimal | None) -> str:
        return "n/a" if value is None else f"{value:,.2f} {currency}".strip()

    def share(value: Decimal | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f}%"

    def average(value: Decimal | None) -> str:
        return "n/a" if value is None else str(value)

    rows = [
        ("Orders replayed", f"{current.orders:,}", f"{proposed.orders:,}"),
        ("Members", f"{current.members:,}", f"{proposed.members:,}"),
        ("Points issued", f"{current.points_issued:,}", f"{proposed.points_issued:,}"),
        ("Members who can afford a reward", f"{current.members_with_reward:,}", f"{proposed.members_with_reward:,}"),
        ("Average orders until the first reward", average(current.average_orders_to_first_reward),
         average(proposed.average_orders_to_first_reward)),
        ("Reward cost as a share of revenue", share(current.reward_cost_share), share(proposed.reward_cost_share)),
        ("Liability (points)", f"{current.liability_points:,}", f"{proposed.liability_points:,}"),
        ("Liability (money)", money(current.liability), money(proposed.liability)),
    ]
    for name in dict.fromkeys([*current.members_per_tier, *proposed.members_per_tier]):
        rows.append((f"Members in tier {name}", str(current.members_per_tier.get(name, "–")),
                     str(proposed.members_per_tier.get(name, "–"))))
    return rows


def compare(current: Program, proposed: Program, orders: Sequence[HistoricOrder], now: datetime, *,
            progress: Progress | None = None) -> tuple[Figures, Figures]:
    """Both programs over the same history; progress counts 2 × len(orders)."""
    total = 2 * len(orders)

    def first(done: int, _: int) -> None:
        if progress:
            progress(done, total)

    def second(done: int, _: int) -> None:
        if progress:
            progress(len(orders) + done, total)
    return simulate(current, orders, now, progress=first), simulate(proposed, orders, now, progress=second)

