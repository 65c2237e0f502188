"""The recurring jobs, one function per job and shop: `job(runtime, shop_id, now) -> JobResult`.

Every job is idempotent and resumable: its effects carry source keys (`expire:<lot>`,
`birthday:<member>:<year>`, …) or conditional updates, so running it twice, or killing it halfway
and running it again, changes nothing further. Members are read in batches by id (constant memory
over any number of members); each batch commits on its own.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, or_, select, update

from integration import services
from integration.db import repo
from integration.db.tables import ledger_entries, members, orders, redemptions
from integration.outbox import enqueue
from integration.program import Program
from integration.rules import expiry, tiers
from integration.runtime import Runtime
from scheduler import notify

log = logging.getLogger(__name__)
BATCH = 2000


@dataclass
class JobResult:
    job: str
    shop_id: int
    processed: int = 0
    changed: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.job} shop {self.shop_id}: {self.processed} looked at, {self.changed} changed"


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def member_batches(runtime: Runtime, shop_id: int, condition: Any) -> Iterator[list[Any]]:
    """Members of the shop matching `condition`, BATCH at a time, by increasing id."""
    after = 0
    while True:
        with runtime.db.read() as conn:
            rows = conn.execute(select(members).where(members.c.shop_id == shop_id, members.c.id > after, condition)
                                .order_by(members.c.id).limit(BATCH)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1].id


# -- points expiry ---------------------------------------------------------------------------

def expire_points(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """Expire what is left of each earning lot past its date (FIFO), as `expire:<lot>` entries;
    warn members whose lots expire within the program's warning days."""
    result = JobResult("expire-points", shop_id)
    with runtime.db.read() as conn:
        program = repo.current_program(conn, shop_id)
    horizon = now + timedelta(days=program.expiry_warning_days)
    has_lots = select(ledger_entries.c.member_id).where(
        ledger_entries.c.shop_id == shop_id, ledger_entries.c.points > 0,
        ledger_entries.c.expires_at.is_not(None), ledger_entries.c.expires_at <= horizon)
    for batch in member_batches(runtime, shop_id, members.c.id.in_(has_lots)):
        with runtime.db.write() as conn:
            for member in batch:
                result.processed += 1
                lines = _ledger_lines(conn, shop_id, member.id)
                for expired in expiry.expired_points(lines, now):
                    entry = repo.append_entry(
                        conn, shop_id=shop_id, member_id=member.id, source_key=expired.source_key, kind="expire",
                        points=-expired.points, program_version=program.version, at=now,
                        note=f"points earned before {expired.expires_at.date().isoformat()} expired")
                    result.changed += entry.created
                soon = [lot for lot in expiry.expiring_soon(lines, now, program.expiry_warning_days)
                        if lot.expires_at is not None and lot.expires_at > now]
                if soon:
                    notify.points_expiring(conn, runtime, shop_id, member, soon, now)
    return result


def _ledger_lines(conn: Connection, shop_id: int, member_id: int) -> list[expiry.LedgerLine]:
    rows = conn.execute(select(ledger_entries.c.id, ledger_entries.c.points, ledger_entries.c.created_at,
                               ledger_entries.c.expires_at, ledger_entries.c.source_key)
                        .where(ledger_entries.c.shop_id == shop_id, ledger_entries.c.member_id == member_id)
                        .order_by(ledger_entries.c.created_at, ledger_entries.c.id)).fetchall()
    return [expiry.LedgerLine(
        entry_id=row.id, points=row.points, at=aware(row.created_at), expires_at=aware(row.expires_at),
        lot_id=int(row.source_key.split(":", 1)[1]) if row.source_key.startswith("expire:") else None,
    ) for row in rows]


# -- reward codes ----------------------------------------------------------------------------

def expire_codes(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """Codes past their end: marked used (an order carried them) or expired; an expired one is
    removed from the store and, if the program says so, its points come back."""
    result = JobResult("expire-codes", shop_id)
    while True:
        with runtime.db.write() as conn:
            rows = conn.execute(select(redemptions).where(
                redemptions.c.shop_id == shop_id, redemptions.c.status == "issued",
                redemptions.c.code.is_not(None), redemptions.c.expires_at <= now,
            ).order_by(redemptions.c.id).limit(BATCH)).fetchall()
            if not rows:
                return result
            program = repo.current_program(conn, shop_id)
            for row in rows:
                result.processed += 1
                result.changed += _close_code(conn, shop_id, row, program, now)


def _close_code(conn: Connection, shop_id: int, row: Any, program: Program, now: datetime) -> int:
    used = any(row.code.lower() in (code.lower() for code in (codes or ())) for (codes,) in conn.execute(
        select(orders.c.discount_codes).where(orders.c.shop_id == shop_id, orders.c.member_id == row.member_id,
                                              orders.c.paid_at >= row.created_at)))
    status = "used" if used else "expired"
    changed = conn.execute(update(redemptions).where(redemptions.c.id == row.id, redemptions.c.status == "issued")
                           .values(status=status)).rowcount
    if not changed or used:
        return changed
    if row.remote_id:
        enqueue(conn, shop_id, "delete_discount_code", {"remote_id": row.remote_id},
                dedupe_key=f"delete-code:{row.id}", now=now)
    if program.return_points_for_expired_codes:
        repo.append_entry(conn, shop_id=shop_id, member_id=row.member_id, source_key=f"redemption:{row.id}:expired",
                          kind="restore", points=row.points, program_version=program.version, at=now,
                          note=f"unused code {row.code} expired: points returned")
    return changed


# -- paid memberships ------------------------------------------------------------------------

def memberships(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """Remind before a membership ends; end it (benefits and tags removed) after its grace days."""
    result = JobResult("memberships", shop_id)
    with runtime.db.read() as conn:
        program = repo.current_program(conn, shop_id)
    soon = now + timedelta(days=program.membership_reminder_days)
    for batch in member_batches(runtime, shop_id, and_(members.c.plan_id.is_not(None),
                                                       members.c.membership_ends_at <= soon)):
        with runtime.db.write() as conn:
            for member in batch:
                result.processed += 1
                plan = next((p for p in program.plans if p.plan_id == member.plan_id), None)
                ends_at = aware(member.membership_ends_at)
                grace = timedelta(days=plan.grace_days if plan else 0)
                if ends_at + grace > now:
                    if ends_at > now:
                        notify.membership_ending(conn, runtime, shop_id, member, ends_at, now)
                    continue
                ended = conn.execute(update(members).where(members.c.id == member.id,
                                                           members.c.plan_id == member.plan_id)
                                     .values(plan_id=None)).rowcount
                if ended:
                    result.changed += 1
                    enqueue(conn, shop_id, "tag_customer", {"customer_id": member.customer_id, "add": [],
                                                            "remove": [f"member:{member.plan_id}"]},
                            dedupe_key=f"tags:{member.id}:lapsed:{ends_at.isoformat()}", now=now)
                    notify.membership_ended(conn, runtime, shop_id, member, ends_at, now)
    return result


# -- tiers -----------------------------------------------------------------------------------

def tier_windows(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """At the end of a member's qualification window: keep (renew) or lower the tier; warn
    before a window ends when the member's total would not keep the tier."""
    result = JobResult("tiers", shop_id)
    with runtime.db.read() as conn:
        program = repo.current_program(conn, shop_id)
    if not program.tiers:
        return result
    horizon = now + timedelta(days=program.tier_warning_days)
    for batch in member_batches(runtime, shop_id, and_(members.c.tier.is_not(None),
                                                       or_(members.c.tier_until.is_(None),
                                                           members.c.tier_until <= horizon))):
        with runtime.db.write() as conn:
            for member in batch:
                result.processed += 1
                value = services.qualifying_value(conn, shop_id, member.id, program, now)
                until = aware(member.tier_until)
                decision = tiers.tier_after(current=member.tier, current_until=until, qualifying_value=value,
                                            program=program, now=now)
                if decision.tier == member.tier and decision.until == until:
                    at_window_end = services.qualifying_value(conn, shop_id, member.id, program, until) if until else value
                    if until is not None and tiers.tier_for(at_window_end, program) != member.tier:
                        notify.tier_ending(conn, runtime, shop_id, member, until, now)
                    continue
                changed = conn.execute(update(members).where(members.c.id == member.id, members.c.tier == member.tier)
                                       .values(tier=decision.tier, tier_until=decision.until)).rowcount
                if changed and decision.changed:
                    result.changed += 1
                    enqueue(conn, shop_id, "tag_customer", {
                        "customer_id": member.customer_id, "remove": [f"loyalty:{member.tier}"],
                        "add": [f"loyalty:{decision.tier}"] if decision.tier else []},
                        dedupe_key=f"tags:{member.id}:tier:{until.isoformat() if until else 'none'}", now=now)
    return result


# -- birthdays -------------------------------------------------------------------------------

def birthdays(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """The tier-sized birthday reward, once a year, on the day in the shop's timezone
    (29 February birthdays are celebrated on the 28th in other years)."""
    result = JobResult("birthdays", shop_id)
    with runtime.db.read() as conn:
        program = repo.current_program(conn, shop_id)
        zone = ZoneInfo(repo.shop_row(conn, shop_id).timezone or "UTC")
    today = now.astimezone(zone).date()
    for batch in member_batches(runtime, shop_id, members.c.birthday.is_not(None)):
        due = [m for m in batch if _celebrates(m.birthday, today)]
        if not due:
            continue
        with runtime.db.write() as conn:
            for member in due:
                result.processed += 1
                points = birthday_points(program, member.tier)
                if points <= 0:
                    continue
                entry = repo.append_entry(conn, shop_id=shop_id, member_id=member.id,
                                          source_key=f"birthday:{member.customer_id}:{today.year}", kind="birthday",
                                          points=points, program_version=program.version, at=now,
                                          note=f"happy birthday {today.year}")
                result.changed += entry.created
    return result


def _celebrates(birthday: date, today: date) -> bool:
    if (birthday.month, birthday.day) == (today.month, today.day):
        return True
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    return (birthday.month, birthday.day) == (2, 29) and not leap and (today.month, today.day) == (2, 28)


def birthday_points(program: Program, tier: str | None) -> int:
    level = next((t for t in program.tiers if t.name == tier), None)
    if level is not None and level.benefits.birthday_points:
        return level.benefits.birthday_points
    return program.birthday_points


# -- reminders -------------------------------------------------------------------------------

def reminders(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """Every N days after the last one (the first N days after enrolment): balance, rewards
    claimable now, points to the next reward, free stuff earned so far. Only with consent.

    Set-based per batch (one UPDATE … RETURNING, one multi-row INSERT): this job touches every
    member, so it must stay fast over millions of them."""
    result = JobResult("reminders", shop_id)
    with runtime.db.read() as conn:
        program = repo.current_program(conn, shop_id)
    due_before = now - timedelta(days=program.reminder_every_days) + timedelta(minutes=1)
    condition = and_(members.c.accepts_marketing.is_(True), members.c.unsubscribed.is_(False),
                     members.c.redacted.is_(False), members.c.email.is_not(None),
                     func.coalesce(members.c.last_reminder_at, members.c.enrolled_at) <= due_before)
    if program.reminders_skip_inactive:
        condition = and_(condition, or_(members.c.balance > 0, members.c.orders_count > 0))
    for batch in member_batches(runtime, shop_id, condition):
        result.processed += len(batch)
        with runtime.db.write() as conn:
            marked = conn.execute(update(members).where(  # re-checked: a parallel run marks nothing twice
                members.c.shop_id == shop_id, members.c.id.in_([m.id for m in batch]), condition)
                .values(last_reminder_at=now).returning(members.c.id)).scalars().all()
            result.changed += notify.reminders(conn, shop_id, marked, now)
    return result


# -- the store -------------------------------------------------------------------------------

def outbox(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """Store writes that are due (retries after backoff); the worker loop does the same."""
    return JobResult("outbox", shop_id, processed=runtime.outbox_runner().run_due(now))


def reconcile(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    from scheduler.reconcile import reconcile_shop
    outcome = reconcile_shop(runtime, shop_id, now)
    return JobResult("reconcile", shop_id, processed=getattr(outcome, "orders_seen", 0),
                     changed=getattr(outcome, "events_applied", 0), notes=[str(outcome)])


def repair_webhooks(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    from scheduler.woocommerce_repair import repair_job
    return repair_job(runtime, shop_id, now)


def referrals(runtime: Runtime, shop_id: int, now: datetime) -> JobResult:
    """Referral rewards whose pending period is over (the friend's order still stands) are credited."""
    from integration.referrals import credit_due
    with runtime.db.write() as conn:
        credited = credit_due(conn, shop_id, now)
    return JobResult("referrals", shop_id, processed=credited, changed=credited)


JOBS: dict[str, Callable[[Runtime, int, datetime], JobResult]] = {
    "expire-points": expire_points,
    "expire-codes": expire_codes,
    "memberships": memberships,
    "tiers": tier_windows,
    "birthdays": birthdays,
    "reminders": reminders,
    "outbox": outbox,
    "reconcile": reconcile,
    "repair-webhooks": repair_webhooks,
    "referrals": referrals,
}
