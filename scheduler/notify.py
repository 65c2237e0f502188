"""What the jobs tell members, queued as `emails` rows in the job's own transaction; the worker
sends them after commit (integration/mail.py renders each kind in the member's language). The
idempotency key makes each warning go out once per thing warned about."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from integration import notifications
from integration.db import repo
from integration.db.tables import emails
from integration.rules.expiry import Lot
from integration.runtime import Runtime


def _queue(conn: Connection, shop_id: int, member: Any, kind: str, key: str, now: datetime,
           context: dict[str, Any]) -> bool:
    """Through the one place that knows consent and addresses (integration/notifications.py)."""
    return notifications.queue(conn, shop_id, member.id, kind, key, context, now) is not None


def reminders(conn: Connection, shop_id: int, member_ids: Sequence[int], now: datetime) -> int:
    """Queue the reminder for members the job just marked (consent already checked by its query)."""
    if not member_ids:
        return 0
    rows = [{"shop_id": shop_id, "member_id": member_id, "kind": "reminder", "marketing": True,
             "idempotency_key": f"reminder:{member_id}:{now.date().isoformat()}", "context": {},
             "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now}
            for member_id in member_ids]
    return len(repo.insert_many_once(conn, emails, rows, ["shop_id", "idempotency_key"]))


def points_expiring(conn: Connection, runtime: Runtime, shop_id: int, member: Any, lots: Sequence[Lot],
                    now: datetime) -> int:
    """One warning per earning lot, the first time it comes within the warning days."""
    return sum(_queue(conn, shop_id, member, "points_expiring", f"expiring:{lot.entry_id}", now, {
        "points": lot.points, "expires_at": lot.expires_at.isoformat() if lot.expires_at else None}) for lot in lots)


def membership_ending(conn: Connection, runtime: Runtime, shop_id: int, member: Any, ends_at: datetime,
                      now: datetime) -> bool:
    return _queue(conn, shop_id, member, "membership_ending", f"membership-ending:{member.id}:{ends_at.date()}",
                  now, {"plan_id": member.plan_id, "ends_at": ends_at.isoformat()})


def membership_ended(conn: Connection, runtime: Runtime, shop_id: int, member: Any, ends_at: datetime,
                     now: datetime) -> bool:
    return _queue(conn, shop_id, member, "membership_ended", f"membership-ended:{member.id}:{ends_at.date()}",
                  now, {"plan_id": member.plan_id, "ends_at": ends_at.isoformat()})


def tier_ending(conn: Connection, runtime: Runtime, shop_id: int, member: Any, until: datetime,
                now: datetime) -> bool:
    return _queue(conn, shop_id, member, "tier_ending", f"tier-ending:{member.id}:{until.date()}", now,
                  {"tier": member.tier, "until": until.isoformat()})
