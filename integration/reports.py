"""Read models of the merchant's pages: dashboard figures, member search and export, donations.

Every query is scoped to one shop. Money figures from points use `simulator.point_value` (the
cheapest amount_off reward's value per point), as the simulator does.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, or_, select

from integration.db import repo
from integration.db.tables import inbox, ledger_entries, members, orders, outbox, redemptions, shop_notices, shops
from integration.simulator import point_value

GUEST_PREFIX = "guest:"  # WooCommerce guest checkouts (events.Customer): customers without an account


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _day(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def points_per_week(conn: Connection, shop_id: int, now: datetime, weeks: int = 12) -> list[dict[str, Any]]:
    """Points issued (credits), redeemed and expired per ISO week (Monday), oldest first."""
    first = week_start(now.date()) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
    day = _day(conn, ledger_entries.c.created_at).label("day")
    points = ledger_entries.c.points
    rows = conn.execute(
        select(day,
               func.sum(case((points > 0, points), else_=0)),
               func.sum(case((ledger_entries.c.kind == "redeem", -points), else_=0)),
               func.sum(case((ledger_entries.c.kind == "expire", -points), else_=0)))
        .where(ledger_entries.c.shop_id == shop_id, ledger_entries.c.created_at >= since)
        .group_by(day)
    ).all()
    series = {first + timedelta(weeks=i): {"issued": 0, "redeemed": 0, "expired": 0} for i in range(weeks)}
    for day_text, issued, redeemed, expired in rows:
        bucket = series.get(week_start(date.fromisoformat(day_text)))
        if bucket is not None:
            bucket["issued"] += int(issued or 0)
            bucket["redeemed"] += int(redeemed or 0)
            bucket["expired"] += int(expired or 0)
    return [{"week": week.isoformat(), **values} for week, values in series.items()]


@dataclass(frozen=True, slots=True)
class RepeatRate:
    customers: int  # with at least one order
    repeat: int  # with two or more

    @property
    def rate(self) -> Decimal | None:
        return (Decimal(self.repeat) / self.customers).quantize(Decimal("0.001")) if self.customers else None


def repeat_rates(conn: Connection, shop_id: int) -> tuple[RepeatRate, RepeatRate]:
    """(members, guests): every customer who orders becomes a member automatically, so the only
    customers who are not members are guest checkouts (customer ids `guest:<email>`)."""
    guest = members.c.customer_id.like(GUEST_PREFIX + "%")
    result = []
    for condition in (~guest, guest):
        row = conn.execute(select(
            func.count().filter(members.c.orders_count >= 1), func.count().filter(members.c.orders_count >= 2),
        ).where(members.c.shop_id == shop_id, condition)).one()
        result.append(RepeatRate(int(row[0] or 0), int(row[1] or 0)))
    return result[0], result[1]


def dashboard(conn: Connection, shop_id: int, now: datetime) -> dict[str, Any]:
    program = repo.current_program(conn, shop_id)
    shop = repo.shop_row(conn, shop_id)
    value = point_value(program)
    points = ledger_entries.c.points
    totals = conn.execute(select(
        func.coalesce(func.sum(case((points > 0, points), else_=0)), 0),
        func.coalesce(func.sum(case((ledger_entries.c.kind == "redeem", -points), else_=0)), 0),
        func.coalesce(func.sum(points), 0),
    ).where(ledger_entries.c.shop_id == shop_id)).one()
    issued, redeemed, outstanding = (int(v) for v in totals)
    tiers = dict(conn.execute(select(members.c.tier, func.count()).where(members.c.shop_id == shop_id)
                              .group_by(members.c.tier)).all())
    ordered = [(t.name, tiers.get(t.name, 0)) for t in program.tiers]
    ordered += [(name or "no tier", count) for name, count in tiers.items() if name not in {t.name for t in program.tiers}]
    member_rate, guest_rate = repeat_rates(conn, shop_id)
    revenue = conn.execute(
        select(func.coalesce(func.sum(orders.c.total), 0))
        .select_from(orders.join(members, members.c.id == orders.c.member_id))
        .where(orders.c.shop_id == shop_id, ~members.c.customer_id.like(GUEST_PREFIX + "%"))
    ).scalar_one()
    redeemers = conn.execute(select(func.count(func.distinct(redemptions.c.member_id))).where(
        redemptions.c.shop_id == shop_id, redemptions.c.points > 0)).scalar_one()
    member_count = conn.execute(select(func.count()).where(members.c.shop_id == shop_id)).scalar_one()
    return {
        "shop": shop, "program": program, "point_value": value, "currency": shop.currency,
        "weeks": points_per_week(conn, shop_id, now),
        "points_issued": issued, "points_redeemed": redeemed, "points_outstanding": outstanding,
        "liability": (outstanding * value).quantize(Decimal("0.01")) if value is not None else None,
        "members": int(member_count), "members_per_tier": ordered,
        "redemption_rate": (Decimal(redeemed) / issued).quantize(Decimal("0.001")) if issued else None,
        "members_redeeming": int(redeemers),
        "repeat_members": member_rate, "repeat_guests": guest_rate, "member_revenue": Decimal(revenue),
        "failed_events": _failed_events(conn, shop_id), "health": health(conn, shop, now),
    }


def _failed_events(conn: Connection, shop_id: int, limit: int = 20) -> list[Any]:
    return conn.execute(select(inbox.c.id, inbox.c.topic, inbox.c.attempts, inbox.c.error, inbox.c.received_at)
                        .where(inbox.c.shop_id == shop_id, inbox.c.status == "failed")
                        .order_by(inbox.c.id.desc()).limit(limit)).all()


def health(conn: Connection, shop: Any, now: datetime) -> dict[str, Any]:
    """The store connection as the merchant should see it: status, last sync, webhook and
    store-write outcomes over the last 24 hours, unread notices."""
    since = now - timedelta(hours=24)
    events = dict(conn.execute(select(inbox.c.status, func.count()).where(
        inbox.c.shop_id == shop.id, inbox.c.received_at >= since).group_by(inbox.c.status)).all())
    last_event = conn.execute(select(func.max(inbox.c.received_at)).where(inbox.c.shop_id == shop.id)).scalar()
    writes = dict(conn.execute(select(outbox.c.status, func.count()).where(
        outbox.c.shop_id == shop.id, outbox.c.created_at >= since).group_by(outbox.c.status)).all())
    notices = conn.execute(select(shop_notices.c.kind, shop_notices.c.message, shop_notices.c.created_at)
                           .where(shop_notices.c.shop_id == shop.id, shop_notices.c.read_at.is_(None))
                           .order_by(shop_notices.c.id.desc()).limit(5)).all()
    failing = events.get("failed", 0) + writes.get("failed", 0)
    return {
        "status": shop.status, "platform": shop.platform, "domain": shop.domain,
        "last_sync_at": _aware(shop.last_sync_at), "last_event_at": _aware(last_event),
        "events_24h": events, "writes_24h": writes, "notices": notices,
        "ok": shop.status == "active" and failing == 0,
    }


# -- members ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MemberFilter:
    query: str = ""  # email, name or customer id (substring, case-insensitive)
    tier: str = ""  # a tier name, "none" for members without one, "" for all
    min_points: int | None = None
    max_points: int | None = None
    ordered_since: date | None = None
    ordered_before: date | None = None


def _filtered(shop_id: int, f: MemberFilter) -> Any:
    statement = select(members).where(members.c.shop_id == shop_id)
    if f.query.strip():
        like = f"%{f.query.strip().lower()}%"
        full_name = func.lower(func.coalesce(members.c.first_name, "") + " " + func.coalesce(members.c.last_name, ""))
        statement = statement.where(or_(func.lower(func.coalesce(members.c.email, "")).like(like),
                                        full_name.like(like), func.lower(members.c.customer_id).like(like)))
    if f.tier == "none":
        statement = statement.where(members.c.tier.is_(None))
    elif f.tier:
        statement = statement.where(members.c.tier == f.tier)
    if f.min_points is not None:
        statement = statement.where(members.c.balance >= f.min_points)
    if f.max_points is not None:
        statement = statement.where(members.c.balance <= f.max_points)
    if f.ordered_since is not None:
        statement = statement.where(members.c.last_order_at >= datetime.combine(f.ordered_since, datetime.min.time(), timezone.utc))
    if f.ordered_before is not None:
        statement = statement.where(members.c.last_order_at < datetime.combine(f.ordered_before, datetime.min.time(), timezone.utc))
    return statement


def search_members(conn: Connection, shop_id: int, f: MemberFilter, *, limit: int = 50,
                   offset: int = 0) -> tuple[list[Any], int]:
    statement = _filtered(shop_id, f)
    total = conn.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    rows = conn.execute(statement.order_by(members.c.id).limit(limit).offset(offset)).all()
    return rows, int(total)


EXPORT_COLUMNS = ("id", "customer_id", "email", "first_name", "last_name", "balance", "lifetime_points", "tier",
                  "orders_count", "total_spent", "enrolled_at", "last_order_at", "accepts_marketing")


def export_members(conn: Connection, shop_id: int, f: MemberFilter, batch: int = 1000) -> Iterator[list[Any]]:
    """The filtered members, `batch` at a time by id (keyset pagination: memory stays flat)."""
    after = 0
    while True:
        rows = conn.execute(_filtered(shop_id, f).where(members.c.id > after).order_by(members.c.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield [getattr(row, name) for name in EXPORT_COLUMNS]
        after = rows[-1].id


def member_redemptions(conn: Connection, shop_id: int, member_id: int, limit: int = 50) -> list[Any]:
    return conn.execute(select(redemptions).where(redemptions.c.shop_id == shop_id,
                                                  redemptions.c.member_id == member_id)
                        .order_by(redemptions.c.id.desc()).limit(limit)).all()


# -- donations -------------------------------------------------------------------------------

def donations(conn: Connection, shop_id: int) -> list[dict[str, Any]]:
    """Pledges by cause and month (redemptions of donation rewards that were not undone),
    newest month first: pledges, points spent and the amount pledged."""
    rows = conn.execute(select(redemptions.c.reward, redemptions.c.points, redemptions.c.created_at)
                        .where(redemptions.c.shop_id == shop_id, redemptions.c.status != "failed",
                               redemptions.c.points > 0)
                        .order_by(redemptions.c.id)).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for reward, points, created_at in rows:
        if not isinstance(reward, dict) or reward.get("kind") != "donation":
            continue
        month = _aware(created_at).strftime("%Y-%m")  # type: ignore[union-attr]
        cause = reward.get("cause") or "(no cause)"
        group = groups.setdefault((month, cause), {"month": month, "cause": cause, "pledges": 0, "points": 0,
                                                   "amount": Decimal("0")})
        group["pledges"] += 1
        group["points"] += int(points)
        group["amount"] += Decimal(str(reward.get("value") or "0"))
    return sorted(groups.values(), key=lambda g: (g["month"], g["cause"]), reverse=True)


def shop_currency(conn: Connection, shop_id: int) -> str:
    return conn.execute(select(shops.c.currency).where(shops.c.id == shop_id)).scalar_one()

