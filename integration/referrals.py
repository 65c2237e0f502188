"""Refer a friend: use cases, each in the caller's transaction.

A member's link is `{base_url}/r/<code>` (a short random code per member, `referral_links`). A
friend who follows it and gives an email gets a single-use, new-customers-only welcome code,
written to the store through the outbox (`create_discount_code`, restricted to the friend's email
where the platform can). When an order that used the code is paid, the referral converts.

The pending period: the referral is held as `pending` until `paid_at + pending days` and credited
by the `referrals` job only if the friend's order still stands then; a refund in the meantime
marks it `reversed` and nothing is ever credited ("a returned order earns nothing"). With no
pending period the reward is credited at once, and a later full refund writes a reversal entry.
The reward's ledger key is `referral:<referral id>` (its reversal `referral:<id>:reverse`), and a
friend's mailbox can be referred once per shop (`UNIQUE(shop_id, friend_key)`), so a referrer is
credited once per friend by constraint.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from integration.db import locked, repo
from integration.db.tables import members, orders, referral_links, referral_visits, referrals
from integration.events import OrderPaid
from integration.ports import DiscountCode, LoyaltyError
from integration.program import Program, Referrals, program_to_dict
from integration.rules import referrals as rules
from integration.rules.points import eligible_amount
from integration.rules.rewards import new_code

IP_WINDOW = timedelta(days=30)
CONVERTED = ("review", "pending", "credited")  # the friend ordered and the referral stands (so far)


class ReferralError(LoyaltyError):
    """A friend's request that cannot be served; the message is safe to show."""


class UnknownLinkError(ReferralError):
    pass


class InvalidFriendEmailError(ReferralError):
    pass


class ReferralsPausedError(ReferralError):
    pass


class AlreadyInvitedError(ReferralError):
    pass


class NotReviewableError(LoyaltyError):
    """Approve/reject a referral that is not waiting for that decision."""


def address_key(secret: str, ip: str | None) -> str | None:
    """A keyed hash of a network address: comparable, but the address itself is never stored."""
    if not ip:
        return None
    return hmac.new(secret.encode(), f"referral-ip:{ip}".encode(), hashlib.sha256).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- links --------------------------------------------------------------------------------------

def ensure_link(conn: Connection, shop_id: int, member_id: int, now: datetime,
                random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """The member's referral code, created on first need."""
    repo.insert_once(conn, referral_links, {
        "shop_id": shop_id, "member_id": member_id, "code": rules.new_referral_code(random_bytes(8)),
        "created_at": now}, ["shop_id", "member_id"])
    return link_code(conn, shop_id, member_id) or ""


def link_code(conn: Connection, shop_id: int, member_id: int) -> str | None:
    return conn.execute(select(referral_links.c.code).where(
        referral_links.c.shop_id == shop_id, referral_links.c.member_id == member_id)).scalar()


def link_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{code}"


def find_link(conn: Connection, code: str) -> Any:
    """(shop_id, member_id) of a link code, or None."""
    return conn.execute(select(referral_links.c.shop_id, referral_links.c.member_id)
                        .where(referral_links.c.code == code.strip().lower()[:20])).first()


def record_visit(conn: Connection, shop_id: int, member_id: int, ip_key: str | None, now: datetime) -> None:
    """Remember (hashed) where the member's own portal was opened from: a friend arriving from
    there is probably the member."""
    if ip_key:
        repo.insert_once(conn, referral_visits, {"shop_id": shop_id, "member_id": member_id, "ip_hash": ip_key,
                                                 "seen_at": now}, ["shop_id", "member_id", "ip_hash"])


# -- the friend's welcome code ---------------------------------------------------------------------

def invite(conn: Connection, code: str, friend_email: str, ip_key: str | None, now: datetime,
           random_bytes: Callable[[int], bytes] = os.urandom) -> Any:
    """Record the referral and queue the friend's code; the referral row (status `invited`, or
    `blocked` with its reason and no code). The same friend asking again gets the same row."""
    link = find_link(conn, code)
    if link is None:
        raise UnknownLinkError("this referral link is not valid")
    shop_id = link.shop_id
    program = repo.current_program(conn, shop_id)
    settings = program.referrals
    email = friend_email.strip().lower()
    if not rules.valid_email(email):
        raise InvalidFriendEmailError("please enter a valid email address")
    if not settings.enabled or repo.shop_row(conn, shop_id).status != "active":
        raise ReferralsPausedError("the referral program is paused")
    key = rules.normalise_email(email)
    earlier = conn.execute(select(referrals).where(referrals.c.shop_id == shop_id,
                                                   referrals.c.friend_key == key)).first()
    if earlier is not None:
        if earlier.referrer_id != link.member_id:
            raise AlreadyInvitedError("this email address has already been invited")
        return earlier
    referrer = repo.lock_member(conn, shop_id, link.member_id)
    decision = rules.check_invitation(
        settings, rules.Person(referrer.customer_id, referrer.email), rules.Person(None, email),
        friend_is_customer=_is_customer(conn, shop_id, email), referrer_ips=visits(conn, shop_id, referrer.id),
        ip=ip_key, friends_from_ip=_friends_from(conn, shop_id, ip_key, now))
    values: dict[str, Any] = {
        "shop_id": shop_id, "referrer_id": referrer.id, "friend_email": email, "friend_key": key,
        "ip_hash": ip_key, "points": 0, "program_version": program.version, "created_at": now,
    }
    if isinstance(decision, rules.Blocked):
        values.update(status="blocked", reason=decision.reason, code_status="none", decided_at=now)
        return _insert(conn, values, shop_id, key)
    discount = _welcome_code(settings, email, now, random_bytes)
    values.update(status="invited", code=discount.code, code_status="pending", code_expires_at=discount.ends_at,
                  flag=decision.reason if isinstance(decision, rules.Review) else None)
    row = _insert(conn, values, shop_id, key)
    if row.referrer_id == referrer.id and row.code == discount.code:
        from integration.outbox import discount_payload, enqueue
        payload = {**discount_payload(discount, 0), "redemption_id": None, "referral_id": row.id}
        enqueue(conn, shop_id, "create_discount_code", payload, dedupe_key=f"referral-code:{row.id}", now=now)
    return row


def _insert(conn: Connection, values: dict[str, Any], shop_id: int, key: str) -> Any:
    """Insert once per friend; a concurrent first request wins and its row is returned."""
    repo.insert_once(conn, referrals, values, ["shop_id", "friend_key"])
    return conn.execute(select(referrals).where(referrals.c.shop_id == shop_id, referrals.c.friend_key == key)).one()


def _welcome_code(settings: Referrals, email: str, now: datetime, random_bytes: Callable[[int], bytes]) -> DiscountCode:
    return DiscountCode(
        code=new_code("FRIEND", random_bytes(10)), kind=settings.friend_discount_kind,
        value=settings.friend_discount_value, customer_id="", customer_email=email, starts_at=now,
        ends_at=now + timedelta(days=settings.friend_code_days), title="Welcome gift from a friend",
        minimum_subtotal=settings.friend_minimum_subtotal, new_customers_only=True)


def _is_customer(conn: Connection, shop_id: int, email: str) -> bool:
    return conn.execute(select(members.c.id).where(
        members.c.shop_id == shop_id, members.c.email == email, members.c.orders_count > 0).limit(1)).first() is not None


def visits(conn: Connection, shop_id: int, member_id: int) -> frozenset[str]:
    return frozenset(conn.execute(select(referral_visits.c.ip_hash).where(
        referral_visits.c.shop_id == shop_id, referral_visits.c.member_id == member_id)).scalars())


def _friends_from(conn: Connection, shop_id: int, ip_key: str | None, now: datetime) -> int:
    if not ip_key:
        return 0
    return conn.execute(select(func.count()).where(
        referrals.c.shop_id == shop_id, referrals.c.ip_hash == ip_key,
        referrals.c.created_at > now - IP_WINDOW)).scalar_one()


# -- conversion, the pending period, refunds ----------------------------------------------------------

def order_paid(conn: Connection, shop_id: int, event: OrderPaid, friend_member_id: int, program: Program,
               now: datetime) -> str | None:
    """A newly recorded paid order: if it used a friend's welcome code, the referral converts.
    Returns the referral's new status, or None when the order used no welcome code."""
    codes = {code.strip().upper() for code in event.discount_codes if code.strip()}
    if not codes:
        return None
    row = conn.execute(select(referrals).where(
        referrals.c.shop_id == shop_id, referrals.c.code.in_(codes),  # stored upper-case
        referrals.c.status == "invited").limit(1)).first()
    if row is None:
        return None
    settings = program.referrals
    referrer = repo.lock_member(conn, shop_id, row.referrer_id)
    eligible = eligible_amount(event.amounts, program.basis)
    friend_address = rules.normalise_address(event.shipping_address) if event.shipping_address else None
    blocked = rules.check_conversion(
        settings, rules.Person(referrer.customer_id, referrer.email,
                               friend_address if friend_address in _addresses(conn, shop_id, referrer.id) else None),
        rules.Person(event.customer.customer_id, event.customer.email or row.friend_email, friend_address),
        friend_had_orders=_had_orders(conn, shop_id, friend_member_id, event.order_id),
        order_eligible=eligible, rewards_this_month=_rewards_in_month(conn, shop_id, referrer.id, event.paid_at))
    changes: dict[str, Any] = {"friend_member_id": friend_member_id, "order_id": event.order_id,
                               "order_eligible": eligible, "order_total": event.total, "converted_at": event.paid_at,
                               "points": settings.referrer_points, "program_version": program.version}
    if blocked is not None:
        changes.update(status="blocked", reason=blocked.reason, decided_at=now, points=0)
    elif row.flag:
        changes.update(status="review", reason=row.flag)
    else:
        changes.update(status="pending", credit_at=event.paid_at + timedelta(days=_pending_days(program)))
    moved = conn.execute(update(referrals).where(referrals.c.id == row.id, referrals.c.status == "invited")
                         .values(**changes)).rowcount
    if not moved:
        return None
    if changes["status"] == "pending" and changes["credit_at"] <= now:
        return _credit(conn, shop_id, row.id, now)
    return changes["status"]


def _addresses(conn: Connection, shop_id: int, member_id: int) -> set[str]:
    """The referrer's shipping addresses, normalised, from their orders."""
    found = conn.execute(select(orders.c.shipping_address).distinct().where(
        orders.c.shop_id == shop_id, orders.c.member_id == member_id, orders.c.shipping_address.is_not(None)))
    return {rules.normalise_address(address) for (address,) in found}


def _pending_days(program: Program) -> int:
    days = program.referrals.pending_days
    return program.pending_days if days is None else days


def _had_orders(conn: Connection, shop_id: int, member_id: int, order_id: str) -> bool:
    return conn.execute(select(orders.c.id).where(
        orders.c.shop_id == shop_id, orders.c.member_id == member_id, orders.c.order_id != order_id).limit(1)).first() is not None


def _rewards_in_month(conn: Connection, shop_id: int, referrer_id: int, at: datetime) -> int:
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return conn.execute(select(func.count()).where(
        referrals.c.shop_id == shop_id, referrals.c.referrer_id == referrer_id,
        referrals.c.status.in_(CONVERTED), referrals.c.converted_at >= start,
        referrals.c.converted_at < end)).scalar_one()


def _credit(conn: Connection, shop_id: int, referral_id: int, now: datetime) -> str:
    """Credit a pending referral's reward to the referrer, once (`referral:<id>`)."""
    row = conn.execute(select(referrals).where(referrals.c.id == referral_id)).one()
    if row.points:
        repo.append_entry(conn, shop_id=shop_id, member_id=row.referrer_id, source_key=f"referral:{row.id}",
                          kind="referral", points=row.points, program_version=row.program_version, at=now,
                          note=f"friend {row.friend_email} ordered ({row.order_id})")
    conn.execute(update(referrals).where(referrals.c.id == row.id).values(status="credited", credited_at=now))
    return "credited"


def credit_due(conn: Connection, shop_id: int, now: datetime, limit: int = 500) -> int:
    """The `referrals` job: credit pending referrals whose pending period is over (the friend's
    order was not returned meanwhile, or it would be `reversed`). Returns how many."""
    due = conn.execute(select(referrals.c.id).where(
        referrals.c.shop_id == shop_id, referrals.c.status == "pending", referrals.c.credit_at <= now)
        .order_by(referrals.c.id).limit(limit)).scalars().all()
    for referral_id in due:
        _credit(conn, shop_id, referral_id, now)
    return len(due)


def order_reversed(conn: Connection, shop_id: int, order_id: str, refunded_eligible: Decimal, at: datetime) -> str | None:
    """After a refund or cancellation of a friend's order: a reward the order no longer earns is
    taken back (credited) or never given (pending, review). Returns the new status, if any."""
    row = conn.execute(select(referrals).where(
        referrals.c.shop_id == shop_id, referrals.c.order_id == order_id,
        referrals.c.status.in_(CONVERTED))).first()
    if row is None:
        return None
    settings = repo.program_version(conn, shop_id, row.program_version).referrals
    if rules.keeps_reward(settings, Decimal(row.order_eligible or 0), refunded_eligible):
        return None
    if row.status == "credited" and row.points:
        repo.append_entry(conn, shop_id=shop_id, member_id=row.referrer_id, source_key=f"referral:{row.id}:reverse",
                          kind="refund", points=-row.points, program_version=row.program_version, at=at,
                          note=f"friend's order {order_id} was returned")
        reason = "the friend's order was returned: the reward was taken back"
    else:
        reason = "the friend's order was returned before the reward was credited: nothing credited"
    conn.execute(update(referrals).where(referrals.c.id == row.id).values(status="reversed", reason=reason, decided_at=at))
    return "reversed"


# -- the merchant's decisions ---------------------------------------------------------------------------

def approve(conn: Connection, shop_id: int, referral_id: int, now: datetime) -> Any:
    """A referral held for review goes on: pending until its period is over, or credited now."""
    row = _get(conn, shop_id, referral_id)
    if row.status != "review":
        raise NotReviewableError(f"referral {referral_id} is {row.status}, not waiting for review")
    program = repo.program_version(conn, shop_id, row.program_version)
    credit_at = max(_aware(row.converted_at) + timedelta(days=_pending_days(program)), now)  # type: ignore[operator]
    conn.execute(update(referrals).where(referrals.c.id == row.id).values(
        status="pending", credit_at=credit_at, decided_at=now, reason=f"approved by the merchant ({row.reason})"))
    if credit_at <= now:
        _credit(conn, shop_id, row.id, now)
    return _get(conn, shop_id, referral_id)


def reject(conn: Connection, shop_id: int, referral_id: int, reason: str, now: datetime) -> Any:
    """The merchant refuses the reward (held for review, or still waiting for the friend's order)."""
    row = _get(conn, shop_id, referral_id)
    if row.status not in ("review", "invited", "pending"):
        raise NotReviewableError(f"referral {referral_id} is {row.status}: it cannot be rejected")
    text = "rejected by the merchant" + (f": {reason.strip()}" if reason and reason.strip() else "")
    conn.execute(update(referrals).where(referrals.c.id == row.id).values(
        status="rejected", reason=text[:1000], decided_at=now))
    return _get(conn, shop_id, referral_id)


def _get(conn: Connection, shop_id: int, referral_id: int) -> Any:
    row = conn.execute(locked(conn, select(referrals).where(referrals.c.shop_id == shop_id,
                                                            referrals.c.id == referral_id))).first()
    if row is None:
        raise repo.NotFoundError(f"referral {referral_id}")
    return row


def set_enabled(conn: Connection, shop_id: int, enabled: bool, now: datetime) -> Program:
    """Pause or resume the program: a new program version (one click on the merchant page)."""
    from integration.redemption import update_program
    program = repo.current_program(conn, shop_id)
    changed = replace(program, referrals=replace(program.referrals, enabled=enabled))
    return update_program(conn, shop_id, program_to_dict(changed), now,
                          note="referrals resumed" if enabled else "referrals paused")


def list_referrals(conn: Connection, shop_id: int, status: str | None = None, limit: int = 100,
                   before_id: int | None = None, referral_id: int | None = None) -> list[Any]:
    statement = select(referrals, members.c.email.label("referrer_email"), members.c.customer_id.label("referrer_customer")) \
        .select_from(referrals.join(members, and_(members.c.id == referrals.c.referrer_id))) \
        .where(referrals.c.shop_id == shop_id).order_by(referrals.c.id.desc()).limit(limit)
    if status:
        statement = statement.where(referrals.c.status == status)
    if before_id:
        statement = statement.where(referrals.c.id < before_id)
    if referral_id is not None:
        statement = statement.where(referrals.c.id == referral_id)
    return conn.execute(statement).fetchall()


def referral_view(row: Any) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return _aware(value).isoformat() if value else None  # type: ignore[union-attr]
    return {
        "id": row.id, "status": row.status, "reason": row.reason, "flag": row.flag,
        "referrer": {"member_id": row.referrer_id, "email": getattr(row, "referrer_email", None),
                     "customer_id": getattr(row, "referrer_customer", None)},
        "friend_email": row.friend_email, "friend_member_id": row.friend_member_id,
        "code": row.code, "code_status": row.code_status, "code_expires_at": moment(row.code_expires_at),
        "order_id": row.order_id, "order_total": str(row.order_total) if row.order_total is not None else None,
        "points": row.points, "created_at": moment(row.created_at), "converted_at": moment(row.converted_at),
        "credit_at": moment(row.credit_at), "credited_at": moment(row.credited_at),
    }
