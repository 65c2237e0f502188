"""Notices: what happened to a shop that its merchant must be told (a webhook WooCommerce had
disabled and we re-created, keys the store refused). Jobs write them; the dashboard and
`GET /api/v1/notices` show them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from integration.db.tables import shop_notices


def add_notice(conn: Connection, shop_id: int, kind: str, message: str, now: datetime) -> int | None:
    """Record a notice; None (nothing added) when the newest unread one says the same already,
    so a job that fails every quarter of an hour does not bury the merchant in copies."""
    latest = conn.execute(
        select(shop_notices.c.kind, shop_notices.c.message)
        .where(shop_notices.c.shop_id == shop_id, shop_notices.c.read_at.is_(None))
        .order_by(shop_notices.c.id.desc()).limit(1)
    ).first()
    if latest is not None and (latest.kind, latest.message) == (kind, message):
        return None
    return conn.execute(shop_notices.insert().values(
        shop_id=shop_id, kind=kind, message=message, created_at=now,
    ).returning(shop_notices.c.id)).scalar_one()


def list_notices(conn: Connection, shop_id: int, *, unread_only: bool = False, limit: int = 100) -> list[Any]:
    """Newest first."""
    statement = (select(shop_notices).where(shop_notices.c.shop_id == shop_id)
                 .order_by(shop_notices.c.id.desc()).limit(limit))
    if unread_only:
        statement = statement.where(shop_notices.c.read_at.is_(None))
    return conn.execute(statement).fetchall()


def mark_read(conn: Connection, shop_id: int, notice_id: int, now: datetime) -> bool:
    """False when the shop has no such notice; reading one twice keeps the first time."""
    result = conn.execute(update(shop_notices).where(
        shop_notices.c.shop_id == shop_id, shop_notices.c.id == notice_id, shop_notices.c.read_at.is_(None),
    ).values(read_at=now))
    if result.rowcount:
        return True
    return conn.execute(select(shop_notices.c.id).where(
        shop_notices.c.shop_id == shop_id, shop_notices.c.id == notice_id)).first() is not None
