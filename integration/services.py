"""Use cases. Each takes the open write transaction (`conn`) as its unit of work: the caller
commits it once, together with whatever marks the triggering event done, so an event's effects and
its "done" mark land together or not at all."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, update

from integration import notifications, referrals
from integration.db import locked, repo
from integration.db.tables import order_refunds, orders, members
from integration.events import Customer, OrderCancelled, OrderPaid, OrderRefunded
from integration.outbox import enqueue
from integration.ports import LoyaltyError
from integration.program import Program
from integration.rules import membership, tiers
from integration.rules.calendar import add_months
from integration.rules.points import Earned, eligible_amount, points_for_order, points_to_reverse


class OrderNotRecordedError(LoyaltyError):
    """A refund or cancellation for an order we have not recorded yet (webhooks arrive out of
    order): the event is retried later, and fails for good only after its retries."""

    retryable = True


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    member_id: int
    points: int
    duplicate: bool


def enrol(conn: Connection, shop_id: int, customer: Customer, program: Program,
          now: datetime) -> repo.MemberRef:
    """The member for `customer`, created (with the signup bonus, once) on first sight."""
    member = repo.ensure_member(
        conn, shop_id, customer.customer_id, now,
        email=customer.email.lower() if customer.email else None, first_name=customer.first_name,
        last_name=customer.last_name, accepts_marketing=customer.accepts_marketing,
        locale=customer.locale, birthday=customer.birthday,
    )
    if member.created and program.signup_bonus > 0:
        repo.append_entry(
            conn, shop_id=shop_id, member_id=member.id, source_key=f"signup:{customer.customer_id}",
            kind="signup", points=program.signup_bonus, program_version=program.version, at=now,
        )
    if member.created:
        notifications.welcome(conn, shop_id, member.id, max(program.signup_bonus, 0), now)
    return member


def record_order_paid(conn: Connection, shop_id: int, event: OrderPaid, now: datetime) -> OrderOutcome:
    program = repo.current_program(conn, shop_id)
    member = enrol(conn, shop_id, event.customer, program, now)
    row = member.row
    plan_ids = (row.plan_id,) if row.plan_id and _active(row.membership_ends_at, now) else ()
    result = points_for_order(event, program, tier=row.tier, plan_ids=plan_ids)
    points = result.points if isinstance(result, Earned) else 0
    new_order = repo.insert_once(conn, orders, {
        "shop_id": shop_id, "order_id": event.order_id, "member_id": member.id,
        "order_number": event.order_number, "currency": event.currency, "total": event.total,
        "eligible": eligible_amount(event.amounts, program.basis), "earned_points": points,
        "program_version": program.version, "discount_codes": list(event.discount_codes),
        "shipping_address": event.shipping_address[:500] if event.shipping_address else None,
        "paid_at": event.paid_at,
    }, ["shop_id", "order_id"])
    if new_order is None:
        return OrderOutcome(member.id, 0, duplicate=True)
    if points:
        repo.append_entry(
            conn, shop_id=shop_id, member_id=member.id, source_key=f"order:{event.order_id}:earn",
            kind="earn", points=points, program_version=program.version, at=event.paid_at,
            spendable_at=event.paid_at + timedelta(days=program.pending_days),
            expires_at=add_months(event.paid_at, program.expiry_months) if program.expiry_months else None,
            order_id=event.order_id, note=f"order {event.order_number or event.order_id}",
        )
        notifications.points_earned(conn, shop_id, member.id, event.order_id, event.order_number, points, now)
    last = _aware(row.last_order_at) if row.last_order_at else None
    changes: dict[str, Any] = {
        "orders_count": members.c.orders_count + 1, "total_spent": members.c.total_spent + event.total,
        "last_order_at": max(last, event.paid_at) if last else event.paid_at,
        **_after_order(conn, shop_id, row, event, program, now),
    }
    conn.execute(update(members).where(members.c.id == member.id).values(**changes))
    if "membership_order_id" in changes:
        notifications.membership_started(conn, shop_id, member.id, changes["plan_id"], changes["membership_ends_at"],
                                         event.order_id, now)
    referrals.order_paid(conn, shop_id, event, member.id, program, now)  # a friend's welcome code converts
    return OrderOutcome(member.id, points, duplicate=False)


def _active(ends_at: datetime | None, now: datetime) -> bool:
    return ends_at is not None and _aware(ends_at) > now


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _after_order(conn: Connection, shop_id: int, member: Any, event: OrderPaid, program: Program,
                 now: datetime) -> dict[str, Any]:
    """Tier promotion and membership start/extension (the member columns to change); the store's
    customer tags follow through the outbox."""
    changes: dict[str, Any] = {}
    plan = membership.membership_from_order(
        event, program, current_plan_id=member.plan_id,
        current_ends_at=_aware(member.membership_ends_at) if member.membership_ends_at else None, now=now,
    )
    if plan is not None:
        changes.update(plan_id=plan.plan_id, membership_ends_at=plan.ends_at,
                       membership_order_id=event.order_id)
    tier_changed = False
    if program.tiers:
        value = qualifying_value(conn, shop_id, member.id, program, now)
        until = _aware(member.tier_until) if member.tier_until else None
        decision = tiers.tier_after(current=member.tier, current_until=until, qualifying_value=value,
                                    program=program, now=now)
        changes.update(tier=decision.tier, tier_until=decision.until)
        tier_changed = decision.changed
    if tier_changed or plan is not None:
        _enqueue_tags(conn, shop_id, member, changes if tier_changed else {
            k: v for k, v in changes.items() if k != "tier"}, program, now)
    return changes


def _enqueue_tags(conn: Connection, shop_id: int, member: Any, changes: dict[str, Any],
                  program: Program, now: datetime) -> None:
    add, remove = [], []
    if "tier" in changes:
        if member.tier:
            remove.append(f"loyalty:{member.tier}")
        if changes["tier"]:
            add.append(f"loyalty:{changes['tier']}")
    if changes.get("plan_id"):
        add.append(f"member:{changes['plan_id']}")
    enqueue(conn, shop_id, "tag_customer", {
        "customer_id": member.customer_id, "add": add, "remove": [t for t in remove if t not in add],
    }, dedupe_key=f"tags:{member.id}:{now.isoformat()}:{','.join(add)}", now=now)


def qualifying_value(conn: Connection, shop_id: int, member_id: int, program: Program,
                     now: datetime) -> Decimal:
    """The member's total over the rolling window (window_start, now], in the program's unit."""
    since = add_months(now, -program.tier_window_months)
    in_window = (orders.c.shop_id == shop_id) & (orders.c.member_id == member_id) & (orders.c.paid_at > since)
    if program.tier_qualification == "orders":
        return Decimal(conn.execute(select(func.count()).where(in_window)).scalar_one())
    if program.tier_qualification == "points":
        return Decimal(conn.execute(select(func.coalesce(func.sum(orders.c.earned_points), 0)).where(in_window)).scalar_one())
    spent = conn.execute(select(func.coalesce(func.sum(orders.c.eligible), 0)).where(in_window)).scalar_one()
    refunded = conn.execute(
        select(func.coalesce(func.sum(order_refunds.c.eligible), 0))
        .select_from(order_refunds.join(orders, (orders.c.shop_id == order_refunds.c.shop_id)
                                        & (orders.c.order_id == order_refunds.c.order_id)))
        .where(in_window)
    ).scalar_one()
    return Decimal(spent) - Decimal(refunded)


def record_refund(conn: Connection, shop_id: int, event: OrderRefunded, now: datetime) -> int:
    """Take back what this refund's part of the order earned; once per refund id."""
    order = _locked_order(conn, shop_id, event.order_id)
    earning_program = repo.program_version(conn, shop_id, order.program_version)
    return _reverse(conn, shop_id, order, event.refund_id,
                    eligible_amount(event.amounts, earning_program.basis), event)


def record_cancellation(conn: Connection, shop_id: int, event: OrderCancelled, now: datetime) -> int:
    """A cancelled order gives back everything it still holds."""
    order = _locked_order(conn, shop_id, event.order_id)
    return _reverse(conn, shop_id, order, "cancel", Decimal(order.eligible), event)


def _locked_order(conn: Connection, shop_id: int, order_id: str) -> Any:
    order = conn.execute(locked(conn, select(orders).where(orders.c.shop_id == shop_id,
                                                           orders.c.order_id == order_id))).first()
    if order is None:
        raise OrderNotRecordedError(f"order {order_id} has not been recorded as paid (yet)")
    return order


def _reverse(conn: Connection, shop_id: int, order: Any, refund_id: str, refund_eligible: Decimal,
             event: OrderRefunded | OrderCancelled) -> int:
    cancelled = isinstance(event, OrderCancelled)
    at = event.cancelled_at if isinstance(event, OrderCancelled) else event.refunded_at
    before = Decimal(conn.execute(
        select(func.coalesce(func.sum(order_refunds.c.eligible), 0))
        .where(order_refunds.c.shop_id == shop_id, order_refunds.c.order_id == order.order_id)
    ).scalar_one())
    if cancelled:
        refund_eligible = max(Decimal(order.eligible) - before, Decimal("0"))
    points = points_to_reverse(earned_points=order.earned_points, order_eligible=Decimal(order.eligible),
                               refunded_before=before, refund_eligible=refund_eligible)
    inserted = repo.insert_once(conn, order_refunds, {
        "shop_id": shop_id, "order_id": order.order_id, "refund_id": refund_id,
        "eligible": refund_eligible, "points": points, "refunded_at": at,
    }, ["shop_id", "order_id", "refund_id"])
    if inserted is None:
        return 0
    referrals.order_reversed(conn, shop_id, order.order_id, before + refund_eligible, at)
    if points:
        repo.append_entry(
            conn, shop_id=shop_id, member_id=order.member_id, kind="refund", points=-points,
            source_key=f"refund:{order.order_id}:{refund_id}", program_version=order.program_version,
            at=at, order_id=order.order_id,
            note=f"{'cancelled' if cancelled else 'refund'} order {order.order_number or order.order_id}",
        )
    _end_membership_if_bought_by(conn, shop_id, order, event)
    return points


def _end_membership_if_bought_by(conn: Connection, shop_id: int, order: Any,
                                 event: OrderRefunded | OrderCancelled) -> None:
    member = repo.lock_member(conn, shop_id, order.member_id)
    change = membership.membership_after_refund(
        event, repo.current_program(conn, shop_id), membership_order_ids=(member.membership_order_id,),
        current_plan_id=member.plan_id,
        current_ends_at=_aware(member.membership_ends_at) if member.membership_ends_at else None,
    )
    if change is None:
        return
    conn.execute(update(members).where(members.c.id == member.id).values(membership_ends_at=change.ends_at))
    enqueue(conn, shop_id, "tag_customer", {
        "customer_id": member.customer_id, "add": [], "remove": [f"member:{member.plan_id}"],
    }, dedupe_key=f"tags:{member.id}:end:{order.order_id}", now=change.ends_at)
