"""Read models shared by the JSON API, the portal and the settings page (plain dicts, JSON-ready)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, select

from integration.db import repo
from integration.db.tables import inbox, ledger_entries, members, orders, outbox, redemptions
from integration.program import Program
from integration.rules import rewards


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


def member_view(conn: Connection, shop_id: int, member_id: int, now: datetime,
                program: Program | None = None) -> dict[str, Any]:
    member = conn.execute(select(members).where(members.c.shop_id == shop_id, members.c.id == member_id)).first()
    if member is None:
        raise repo.NotFoundError(f"member {member_id}")
    program = program or repo.current_program(conn, shop_id)
    spendable = repo.spendable_points(conn, shop_id, member_id, now)
    reward, needed = rewards.next_reward(spendable, program)
    ends_at = member.membership_ends_at
    active = ends_at is not None and (ends_at if ends_at.tzinfo else ends_at.replace(tzinfo=timezone.utc)) > now
    return {
        "id": member.id, "customer_id": member.customer_id, "email": member.email,
        "first_name": member.first_name, "last_name": member.last_name,
        "points": member.balance, "spendable_points": spendable, "pending_points": member.balance - spendable
        if member.balance > spendable else 0, "lifetime_points": member.lifetime_points,
        "tier": member.tier, "tier_until": iso(member.tier_until),
        "membership": {"plan_id": member.plan_id, "ends_at": iso(ends_at), "active": active} if member.plan_id else None,
        "next_reward": _reward(reward) if reward else None, "points_needed": needed,
        "claimable_rewards": [_reward(r) for r in rewards.claimable(spendable, program)],
        "orders_count": member.orders_count, "total_spent": str(member.total_spent),
        "accepts_marketing": member.accepts_marketing, "enrolled_at": iso(member.enrolled_at),
        "last_order_at": iso(member.last_order_at),
    }


def _reward(reward: Any) -> dict[str, Any]:
    return {"reward_id": reward.reward_id, "name": reward.name, "kind": reward.kind,
            "points_cost": reward.points_cost, "value": str(reward.value)}


def rewards_view(program: Program) -> list[dict[str, Any]]:
    return [dict(_reward(r), validity_days=r.validity_days, product_ids=list(r.product_ids), cause=r.cause)
            for r in program.rewards if r.enabled]


def ledger_view(conn: Connection, shop_id: int, member_id: int, limit: int = 100,
                before_id: int | None = None) -> list[dict[str, Any]]:
    statement = (select(ledger_entries).where(ledger_entries.c.shop_id == shop_id,
                                              ledger_entries.c.member_id == member_id)
                 .order_by(ledger_entries.c.id.desc()).limit(limit))
    if before_id is not None:
        statement = statement.where(ledger_entries.c.id < before_id)
    return [{
        "id": row.id, "kind": row.kind, "points": row.points, "source_key": row.source_key,
        "order_id": row.order_id, "note": row.note, "program_version": row.program_version,
        "created_at": iso(row.created_at), "spendable_at": iso(row.spendable_at), "expires_at": iso(row.expires_at),
    } for row in conn.execute(statement)]


def redemption_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "member_id": row.member_id, "reward_id": row.reward_id, "reward": row.reward,
        "points": row.points, "code": row.code, "status": row.status, "url": row.url,
        "created_at": iso(row.created_at), "issued_at": iso(row.issued_at), "expires_at": iso(row.expires_at),
        "error": row.error,
    }


def find_members(conn: Connection, shop_id: int, *, email: str | None = None,
                 customer_id: str | None = None, limit: int = 50) -> list[int]:
    statement = select(members.c.id).where(members.c.shop_id == shop_id).order_by(members.c.id).limit(limit)
    if email:
        statement = statement.where(members.c.email == email.strip().lower())
    if customer_id:
        statement = statement.where(members.c.customer_id == customer_id)
    return list(conn.execute(statement).scalars())


def notice_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "message": row.message, "created_at": iso(row.created_at),
            "read_at": iso(row.read_at)}


def events_view(conn: Connection, shop_id: int, status: str | None, limit: int = 100) -> list[dict[str, Any]]:
    statement = (select(inbox.c.id, inbox.c.platform, inbox.c.delivery_id, inbox.c.topic, inbox.c.status,
                        inbox.c.attempts, inbox.c.error, inbox.c.received_at, inbox.c.processed_at)
                 .where(inbox.c.shop_id == shop_id).order_by(inbox.c.id.desc()).limit(limit))
    if status:
        statement = statement.where(inbox.c.status == status)
    return [{**row._mapping, "received_at": iso(row.received_at), "processed_at": iso(row.processed_at)}
            for row in conn.execute(statement)]


def stats_view(conn: Connection, shop_id: int) -> dict[str, Any]:
    points = ledger_entries.c.points
    totals = conn.execute(select(
        func.coalesce(func.sum(case((points > 0, points), else_=0)), 0).label("issued"),
        func.coalesce(func.sum(case((ledger_entries.c.kind == "redeem", -points), else_=0)), 0).label("redeemed"),
        func.coalesce(func.sum(case((ledger_entries.c.kind == "expire", -points), else_=0)), 0).label("expired"),
        func.coalesce(func.sum(points), 0).label("outstanding"),
    ).where(ledger_entries.c.shop_id == shop_id)).one()
    member_count = conn.execute(select(func.count()).where(members.c.shop_id == shop_id)).scalar_one()
    revenue = conn.execute(select(func.coalesce(func.sum(orders.c.total), 0)).where(orders.c.shop_id == shop_id)).scalar_one()
    tiers = dict(conn.execute(select(members.c.tier, func.count()).where(members.c.shop_id == shop_id)
                              .group_by(members.c.tier)).all())
    inbox_counts = dict(conn.execute(select(inbox.c.status, func.count()).where(inbox.c.shop_id == shop_id)
                                     .group_by(inbox.c.status)).all())
    outbox_counts = dict(conn.execute(select(outbox.c.status, func.count()).where(outbox.c.shop_id == shop_id)
                                      .group_by(outbox.c.status)).all())
    redeemed_count = conn.execute(select(func.count()).where(redemptions.c.shop_id == shop_id)).scalar_one()
    return {
        "members": member_count, "points_issued": int(totals.issued), "points_redeemed": int(totals.redeemed),
        "points_expired": int(totals.expired), "points_outstanding": int(totals.outstanding),
        "redemptions": redeemed_count, "revenue": str(Decimal(revenue)),
        "members_per_tier": {(tier or "none"): count for tier, count in tiers.items()},
        "events": inbox_counts, "store_writes": outbox_counts,
    }
