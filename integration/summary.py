"""What a customer sees of their membership: the portal page and the emails read this one model.

Plain numbers and dates; the language and formatting are the caller's (`integration.i18n`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, and_, select

from integration.db import repo
from integration.db.tables import ledger_entries, members, orders, redemptions
from integration.program import Program
from integration.rules import rewards, tiers
from integration.services import qualifying_value

HISTORY_LIMIT = 50
CODES_LIMIT = 20
MONEY_KINDS = ("amount_off", "free_product")  # rewards whose value is money the customer kept


@dataclass(frozen=True, slots=True)
class Shop:
    id: int
    name: str
    domain: str
    platform: str
    currency: str
    locale: str


@dataclass(frozen=True, slots=True)
class RewardLine:
    reward_id: str
    name: str
    kind: str
    points_cost: int
    value: Decimal
    missing: int  # points still needed; 0 when claimable now

    @property
    def claimable(self) -> bool:
        return self.missing == 0


@dataclass(frozen=True, slots=True)
class HistoryLine:
    kind: str  # earn, signup, redeem, refund, expire, restore, adjust, bonus, birthday, referral
    points: int
    at: datetime
    order_number: str | None
    note: str


@dataclass(frozen=True, slots=True)
class CodeLine:
    redemption_id: int
    reward_name: str
    code: str
    status: str  # pending (being written into the store), issued
    expires_at: datetime | None
    url: str | None
    expired: bool


@dataclass(frozen=True, slots=True)
class TierProgress:
    current: str | None
    next_name: str | None
    needed: Decimal  # more qualifying value for the next tier (money, points or orders)
    unit: str  # spend, points, orders
    percent: int


@dataclass(frozen=True, slots=True)
class Membership:
    plan_id: str
    name: str
    ends_at: datetime | None
    active: bool


@dataclass(frozen=True, slots=True)
class MemberSummary:
    shop: Shop
    member_id: int
    customer_id: str
    first_name: str | None
    email: str | None
    locale: str | None
    birthday: date | None
    accepts_marketing: bool
    unsubscribed: bool
    balance: int
    spendable: int
    pending: int
    rewards: tuple[RewardLine, ...]
    next_reward: RewardLine | None
    reward_percent: int
    tier: TierProgress | None
    membership: Membership | None
    free_value: Decimal
    codes: tuple[CodeLine, ...]
    history: tuple[HistoryLine, ...]

    @property
    def claimable(self) -> tuple[RewardLine, ...]:
        return tuple(r for r in self.rewards if r.claimable)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def shop_info(conn: Connection, shop_id: int) -> Shop:
    """The shop as customers see it; the program's language, when set, overrides the shop's locale."""
    row = repo.shop_row(conn, shop_id)
    language = repo.current_program(conn, shop_id).language
    return Shop(row.id, row.name or row.domain, row.domain, row.platform, row.currency, language or row.locale)


def member_summary(conn: Connection, shop_id: int, member_id: int, now: datetime,
                   *, with_history: bool = True) -> MemberSummary:
    member = conn.execute(select(members).where(members.c.shop_id == shop_id, members.c.id == member_id)).first()
    if member is None:
        raise repo.NotFoundError(f"member {member_id}")
    program = repo.current_program(conn, shop_id)
    spendable = repo.spendable_points(conn, shop_id, member_id, now)
    catalog = tuple(RewardLine(r.reward_id, r.name, r.kind, r.points_cost, r.value, max(r.points_cost - spendable, 0))
                    for r in sorted((r for r in program.rewards if r.enabled), key=lambda r: r.points_cost))
    upcoming, _needed = rewards.next_reward(spendable, program)
    next_line = next((line for line in catalog if upcoming and line.reward_id == upcoming.reward_id), None)
    return MemberSummary(
        shop=shop_info(conn, shop_id), member_id=member.id, customer_id=member.customer_id,
        first_name=member.first_name, email=member.email, locale=member.locale, birthday=member.birthday,
        accepts_marketing=bool(member.accepts_marketing), unsubscribed=bool(member.unsubscribed),
        balance=member.balance, spendable=spendable, pending=max(member.balance - spendable, 0),
        rewards=catalog, next_reward=next_line,
        reward_percent=min(100, max(0, spendable) * 100 // next_line.points_cost) if next_line else 100,
        tier=_tier(conn, shop_id, member, program, now), membership=_membership(member, program, now),
        free_value=free_value(conn, shop_id, member_id),
        codes=_codes(conn, shop_id, member_id, now) if with_history else (),
        history=_history(conn, shop_id, member_id) if with_history else (),
    )


def _tier(conn: Connection, shop_id: int, member: Any, program: Program, now: datetime) -> TierProgress | None:
    if not program.tiers:
        return None
    value = qualifying_value(conn, shop_id, member.id, program, now)
    upcoming, needed = tiers.next_tier(value, member.tier, program)
    percent = 100 if upcoming is None or upcoming.threshold <= 0 else int(min(value / upcoming.threshold, 1) * 100)
    return TierProgress(member.tier, upcoming.name if upcoming else None, needed, program.tier_qualification, percent)


def _membership(member: Any, program: Program, now: datetime) -> Membership | None:
    if not member.plan_id:
        return None
    plan = next((p for p in program.plans if p.plan_id == member.plan_id), None)
    ends_at = aware(member.membership_ends_at)
    return Membership(member.plan_id, plan.name if plan else member.plan_id, ends_at,
                      ends_at is not None and ends_at > now)


def free_value(conn: Connection, shop_id: int, member_id: int) -> Decimal:
    """What the member has had for free so far, in money: the value of issued amount-off and
    free-product rewards (percent-off and free-shipping have no value until an order uses them)."""
    total = Decimal("0")
    for reward in conn.execute(select(redemptions.c.reward).where(
            redemptions.c.shop_id == shop_id, redemptions.c.member_id == member_id,
            redemptions.c.status == "issued")).scalars():
        if reward.get("kind") in MONEY_KINDS:
            total += Decimal(str(reward.get("value") or "0"))
    return total


def _history(conn: Connection, shop_id: int, member_id: int) -> tuple[HistoryLine, ...]:
    joined = ledger_entries.outerjoin(orders, and_(orders.c.shop_id == ledger_entries.c.shop_id,
                                                   orders.c.order_id == ledger_entries.c.order_id))
    rows = conn.execute(
        select(ledger_entries.c.kind, ledger_entries.c.points, ledger_entries.c.created_at,
               ledger_entries.c.order_id, ledger_entries.c.note, orders.c.order_number)
        .select_from(joined)
        .where(ledger_entries.c.shop_id == shop_id, ledger_entries.c.member_id == member_id)
        .order_by(ledger_entries.c.id.desc()).limit(HISTORY_LIMIT))
    return tuple(HistoryLine(r.kind, r.points, aware(r.created_at), r.order_number or r.order_id, r.note)
                 for r in rows)


def _codes(conn: Connection, shop_id: int, member_id: int, now: datetime) -> tuple[CodeLine, ...]:
    shop = repo.shop_row(conn, shop_id)
    rows = conn.execute(
        select(redemptions).where(redemptions.c.shop_id == shop_id, redemptions.c.member_id == member_id,
                                  redemptions.c.code.is_not(None), redemptions.c.status.in_(("pending", "issued")))
        .order_by(redemptions.c.id.desc()).limit(CODES_LIMIT))
    return tuple(code_line(row, shop.platform, shop.domain, now) for row in rows)


def code_line(row: Any, platform: str, domain: str, now: datetime) -> CodeLine:
    expires_at = aware(row.expires_at)
    return CodeLine(row.id, (row.reward or {}).get("name", row.reward_id), row.code, row.status, expires_at,
                    row.url or apply_url(platform, domain, row.code),
                    expires_at is not None and expires_at <= now)


def apply_url(platform: str, domain: str, code: str) -> str | None:
    """A link that puts the code in the cart, when the store's adapter did not return one:
    Shopify's shareable discount URL, WooCommerce's `?coupon=` (codes are lower-cased there)."""
    if platform == "shopify":
        return f"https://{domain}/discount/{quote(code, safe='')}?redirect=%2F"
    if platform == "woocommerce":
        return f"{domain.rstrip('/')}/?coupon={quote(code.lower(), safe='')}"
    return None
