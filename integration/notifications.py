"""Which email for which event, written in the SAME transaction as the change it tells about,
and sent after commit by `deliver_due_emails` (the worker loop calls it).

Once per event: every email has an idempotency key (`earned:<order id>`, `code:<redemption id>`,
…) and `UNIQUE(shop_id, idempotency_key)` makes a retried event queue nothing new. Consent:
marketing emails (points earned, reminders) are queued only for members who accepted marketing
from the store and have not unsubscribed, and are checked again just before sending;
transactional ones (welcome, reward code, membership) go to every member with an address.
Delivery is at least once: a crash between the SMTP answer and the "sent" mark resends it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from integration import referrals
from integration.db import repo
from integration.db.tables import emails, members, redemptions

log = logging.getLogger(__name__)

MARKETING = frozenset({"points_earned", "reminder"})
RETRY_SECONDS = (60, 300, 1800, 3 * 3600, 12 * 3600)
LINK_KINDS = frozenset({"welcome", "reminder", "portal_link"})  # create the referral link (once per member)
LEASE_SECONDS = 300


def queue(conn: Connection, shop_id: int, member_id: int, kind: str, key: str, context: dict[str, Any],
          now: datetime) -> int | None:
    """Queue one email in the caller's transaction; None if this key was queued before. An email
    the member may not get is stored as `skipped` with the reason, so it is never reconsidered."""
    member = conn.execute(select(members.c.email, members.c.accepts_marketing, members.c.unsubscribed).where(
        members.c.shop_id == shop_id, members.c.id == member_id)).first()
    reason = _refusal(member, kind)
    if not reason and kind in LINK_KINDS:
        referrals.ensure_link(conn, shop_id, member_id, now)  # emails carry the member's referral link from here on
    return repo.insert_once(conn, emails, {
        "shop_id": shop_id, "member_id": member_id, "kind": kind, "idempotency_key": key[:200],
        "marketing": kind in MARKETING, "context": context, "status": "skipped" if reason else "pending",
        "last_error": reason, "attempts": 0, "created_at": now, "next_attempt_at": now,
    }, ["shop_id", "idempotency_key"])


def _refusal(member: Any, kind: str) -> str | None:
    if member is None or not member.email:
        return "no email address"
    if kind in MARKETING and not member.accepts_marketing:
        return "no marketing consent"
    if kind in MARKETING and member.unsubscribed:
        return "unsubscribed"
    return None


# -- the events ---------------------------------------------------------------------------------

def welcome(conn: Connection, shop_id: int, member_id: int, points: int, now: datetime) -> None:
    queue(conn, shop_id, member_id, "welcome", f"welcome:{member_id}", {"points": points}, now)


def points_earned(conn: Connection, shop_id: int, member_id: int, order_id: str, order_number: str | None,
                  points: int, now: datetime) -> None:
    queue(conn, shop_id, member_id, "points_earned", f"earned:{order_id}",
          {"points": points, "order_number": order_number or order_id}, now)


def code_issued(conn: Connection, shop_id: int, redemption_id: int, now: datetime) -> None:
    member_id = conn.execute(select(redemptions.c.member_id).where(
        redemptions.c.shop_id == shop_id, redemptions.c.id == redemption_id)).scalar_one()
    queue(conn, shop_id, member_id, "code_issued", f"code:{redemption_id}", {"redemption_id": redemption_id}, now)


def membership_started(conn: Connection, shop_id: int, member_id: int, plan_id: str, ends_at: datetime,
                       order_id: str, now: datetime) -> None:
    """A paid order started or extended a membership: once per order."""
    queue(conn, shop_id, member_id, "membership_started", f"membership:{order_id}:started",
          {"plan_id": plan_id, "ends_at": ends_at.isoformat()}, now)


def queue_reminder(conn: Connection, shop_id: int, member_id: int, now: datetime, period: str | None = None) -> int | None:
    """For the scheduler: the reminder of one period (default: the day), consent checked here."""
    return queue(conn, shop_id, member_id, "reminder", f"reminder:{member_id}:{period or now.date()}", {}, now)


def portal_link(conn: Connection, shop_id: int, member_id: int, now: datetime) -> None:
    """A fresh portal link, asked for by the customer (an expired link, a claim): once a day."""
    queue(conn, shop_id, member_id, "portal_link", f"link:{member_id}:{now.date()}", {}, now)


# -- delivery ------------------------------------------------------------------------------------

def _claim(db: Any, now: datetime, limit: int) -> list[Any]:
    with db.write() as conn:
        return repo.claim_due(conn, emails, now, limit, LEASE_SECONDS)


def deliver_due_emails(runtime: Any, now: datetime, limit: int = 20) -> int:
    """Render and send due emails (after their transaction committed); the number handled.
    Retryable SMTP failures wait per RETRY_SECONDS; a refused recipient fails for good."""
    from integration import mail

    rows = _claim(runtime.db, now, limit)
    if not rows:
        return 0
    transport = mail.transport_for(runtime.settings.email)
    for row in rows:
        outcome: dict[str, Any]
        try:
            with runtime.db.read() as conn:
                email = _render(conn, runtime.settings, row, now)
            if isinstance(email, str):
                outcome = {"status": "skipped", "last_error": email}
            else:
                transport.send(mail.to_message(email, runtime.settings.email.sender,
                                               f"<email-{row.id}.shop-{row.shop_id}@loyalty-bridge>"))
                outcome = {"status": "sent", "sent_at": now, "recipient": email.to, "last_error": None}
        except mail.SendError as error:
            outcome = _retry_or_fail(row, str(error), error.retryable, now)
        except (repo.NotFoundError, KeyError, ValueError) as error:  # member erased, bad context
            outcome = {"status": "failed", "last_error": f"{type(error).__name__}: {error}"}
        with runtime.db.write() as conn:
            conn.execute(update(emails).where(emails.c.id == row.id).values(**outcome))
        log.info("email %s %s: %s", row.id, row.kind, outcome["status"])
    return len(rows)


def _render(conn: Connection, settings: Any, row: Any, now: datetime) -> Any:
    """The email, or why it must not go out. Rows queued by the scheduler (reminders, expiry,
    membership and tier warnings) carry their own `marketing` flag, which is what counts."""
    from integration import mail

    member = conn.execute(select(members.c.email, members.c.accepts_marketing, members.c.unsubscribed).where(
        members.c.shop_id == row.shop_id, members.c.id == row.member_id)).first()
    if reason := _refusal(member, "reminder" if row.marketing else row.kind):
        return reason  # consent withdrawn (or address erased) since it was queued
    return mail.render(conn, settings, row.kind, row.shop_id, row.member_id, dict(row.context or {}), now,
                       marketing=bool(row.marketing))


def _retry_or_fail(row: Any, error: str, retryable: bool, now: datetime) -> dict[str, Any]:
    attempts = row.attempts + 1
    if retryable and attempts <= len(RETRY_SECONDS):
        return {"status": "pending", "last_error": error,
                "next_attempt_at": now + timedelta(seconds=RETRY_SECONDS[attempts - 1])}
    return {"status": "failed", "last_error": error}
