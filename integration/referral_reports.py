"""What the referral program brought and cost, from the shop's own figures (merchant page, API).

- sent: friends who got a welcome code; converted: friends whose first order counts (held for
  review, pending or credited).
- revenue from referred customers: everything those friends have spent since (`members.total_spent`).
- cost of rewards: referrer points credited and not taken back, valued like the dashboard values
  points (the cheapest amount-off reward: `simulator.point_value`), plus the friends' welcome
  discounts on their converting orders (amount off: the amount; percent off: the percent of the
  order before the discount, `total × p / (100 − p)`).
- ROI `((LTV × (1 + k)) − reward) / reward` with LTV = average total spent per member (all members),
  k = invitations per member × conversion rate, reward = cost of rewards / rewarded referrals.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, select

from integration.db import repo
from integration.db.tables import ledger_entries, members, referrals
from integration.referrals import CONVERTED
from integration.rules import referrals as rules
from integration.simulator import point_value


@dataclass(frozen=True, slots=True)
class ReferralSummary:
    sent: int
    converted: int
    rewarded: int
    review: int
    blocked: int
    revenue: Decimal
    points_credited: int
    cost: Decimal | None  # None: points cannot be valued (no amount-off reward)
    roi: rules.Roi
    currency: str
    enabled: bool


def summary(conn: Connection, shop_id: int) -> ReferralSummary:
    program = repo.current_program(conn, shop_id)
    counts = dict(conn.execute(select(referrals.c.status, func.count()).where(referrals.c.shop_id == shop_id)
                               .group_by(referrals.c.status)).all())
    sent = sum(n for status, n in counts.items() if status != "blocked")
    converted = sum(counts.get(status, 0) for status in CONVERTED)
    revenue = Decimal(conn.execute(select(func.coalesce(func.sum(members.c.total_spent), 0)).where(
        members.c.shop_id == shop_id, members.c.id.in_(select(referrals.c.friend_member_id).where(
            referrals.c.shop_id == shop_id, referrals.c.status.in_(CONVERTED))))).scalar_one())
    points = int(conn.execute(select(func.coalesce(func.sum(ledger_entries.c.points), 0)).where(
        ledger_entries.c.shop_id == shop_id, ledger_entries.c.source_key.like("referral:%"))).scalar_one())
    value = point_value(program)
    cost = (value * points + _welcome_discounts(conn, shop_id, program)) if value is not None else None
    rewarded = counts.get("credited", 0)
    member_count, spent = conn.execute(select(func.count(), func.coalesce(func.sum(members.c.total_spent), 0))
                                       .where(members.c.shop_id == shop_id)).one()
    per_reward = (cost / rewarded) if cost is not None and rewarded else Decimal("0")
    return ReferralSummary(
        sent=sent, converted=converted, rewarded=rewarded, review=counts.get("review", 0),
        blocked=counts.get("blocked", 0), revenue=revenue, points_credited=points, cost=cost,
        roi=rules.roi(members=member_count, total_spent=Decimal(spent), invitations=sent, conversions=converted,
                      reward_cost=per_reward),
        currency=repo.shop_row(conn, shop_id).currency, enabled=program.referrals.enabled)


def _welcome_discounts(conn: Connection, shop_id: int, program: Any) -> Decimal:
    settings = program.referrals
    count, totals = conn.execute(select(func.count(), func.coalesce(func.sum(referrals.c.order_total), 0)).where(
        referrals.c.shop_id == shop_id, referrals.c.status.in_(CONVERTED))).one()
    if settings.friend_discount_kind == "percent_off" and settings.friend_discount_value < 100:
        return Decimal(totals) * settings.friend_discount_value / (100 - settings.friend_discount_value)
    return settings.friend_discount_value * count


def leaderboard(conn: Connection, shop_id: int, limit: int = 10) -> list[Any]:
    """Top referrers by friends converted, then by points earned."""
    converted = func.sum(case((referrals.c.status.in_(CONVERTED), 1), else_=0))
    credited = func.sum(case((referrals.c.status == "credited", referrals.c.points), else_=0))
    return conn.execute(
        select(members.c.id, members.c.email, members.c.customer_id, func.count().label("invited"),
               converted.label("converted"), credited.label("points"))
        .select_from(referrals.join(members, members.c.id == referrals.c.referrer_id))
        .where(referrals.c.shop_id == shop_id, referrals.c.status != "blocked")
        .group_by(members.c.id, members.c.email, members.c.customer_id)
        .order_by(converted.desc(), credited.desc(), members.c.id).limit(limit)).fetchall()


def summary_view(s: ReferralSummary) -> dict[str, Any]:
    return {"sent": s.sent, "converted": s.converted, "rewarded": s.rewarded, "review": s.review,
            "blocked": s.blocked, "revenue": str(s.revenue), "points_credited": s.points_credited,
            "cost": str(s.cost) if s.cost is not None else None, "ltv": str(s.roi.ltv), "k": str(s.roi.k),
            "reward_cost": str(s.roi.reward_cost), "roi": str(s.roi.value) if s.roi.value is not None else None,
            "currency": s.currency, "enabled": s.enabled}
