"""Route a neutral store event to its use case, inside the caller's transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, cast, delete, literal, select, update

from integration import services
from integration.db import repo
from integration.db.tables import (
    exports,
    ledger_entries,
    members,
    orders,
    redemptions,
    referral_visits,
    referrals,
    shops,
)
from integration.events import (
    AppUninstalled,
    CustomerDataRequested,
    CustomerRedactRequested,
    CustomerUpdated,
    Ignored,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    ShopRedactRequested,
    StoreEvent,
)


def handle(conn: Connection, shop_id: int, event: StoreEvent, now: datetime) -> str:
    """Apply one event; returns a short description of what happened (for logs and the API)."""
    if isinstance(event, OrderPaid):
        outcome = services.record_order_paid(conn, shop_id, event, now)
        return f"order {event.order_id}: " + ("already recorded" if outcome.duplicate else f"+{outcome.points} points")
    if isinstance(event, OrderRefunded):
        points = services.record_refund(conn, shop_id, event, now)
        return f"refund {event.refund_id} of order {event.order_id}: -{points} points"
    if isinstance(event, OrderCancelled):
        points = services.record_cancellation(conn, shop_id, event, now)
        return f"order {event.order_id} cancelled: -{points} points"
    if isinstance(event, CustomerUpdated):
        program = repo.current_program(conn, shop_id)
        member = services.enrol(conn, shop_id, event.customer, program, now)
        return f"customer {event.customer.customer_id}: " + ("enrolled" if member.created else "updated")
    if isinstance(event, AppUninstalled):
        conn.execute(update(shops).where(shops.c.id == shop_id).values(
            status="uninstalled", uninstalled_at=event.uninstalled_at, credentials=""))
        return "shop uninstalled: no further calls"
    if isinstance(event, CustomerDataRequested):
        export_customer(conn, shop_id, event, now)
        return f"data export for customer {event.customer_id} kept for the merchant"
    if isinstance(event, CustomerRedactRequested):
        redact_customer(conn, shop_id, event.customer_id)
        return f"customer {event.customer_id} redacted"
    if isinstance(event, ShopRedactRequested):
        conn.execute(delete(shops).where(shops.c.id == shop_id))
        return "shop erased"
    if isinstance(event, Ignored):
        return f"ignored: {event.reason}"
    raise TypeError(f"no handler for {type(event).__name__}")


def export_customer(conn: Connection, shop_id: int, event: CustomerDataRequested, now: datetime) -> None:
    member = conn.execute(select(members).where(
        members.c.shop_id == shop_id, members.c.customer_id == event.customer_id)).first()
    data: dict[str, Any] = {"customer_id": event.customer_id, "member": None, "ledger": [], "orders": []}
    if member is not None:
        data["member"] = {k: _plain(v) for k, v in member._mapping.items()}
        data["ledger"] = [{k: _plain(v) for k, v in row._mapping.items()} for row in conn.execute(
            select(ledger_entries).where(ledger_entries.c.member_id == member.id).order_by(ledger_entries.c.id))]
        data["orders"] = [{k: _plain(v) for k, v in row._mapping.items()} for row in conn.execute(
            select(orders).where(orders.c.member_id == member.id).order_by(orders.c.id))]
        data["redemptions"] = [{k: _plain(v) for k, v in row._mapping.items()} for row in conn.execute(
            select(redemptions).where(redemptions.c.member_id == member.id).order_by(redemptions.c.id))]
    repo.insert_once(conn, exports, {
        "shop_id": shop_id, "customer_id": event.customer_id, "request_id": event.request_id,
        "data": data, "created_at": now,
    }, ["shop_id", "request_id"])


def redact_customer(conn: Connection, shop_id: int, customer_id: str) -> None:
    """Erase personal data; points totals and the ledger stay, tied to an anonymous member."""
    conn.execute(update(members).where(members.c.shop_id == shop_id, members.c.customer_id == customer_id).values(
        email=None, first_name=None, last_name=None, birthday=None, locale=None,
        accepts_marketing=False, redacted=True))
    member_ids = select(members.c.id).where(members.c.shop_id == shop_id, members.c.customer_id == customer_id)
    conn.execute(update(referrals).where(referrals.c.shop_id == shop_id, referrals.c.friend_member_id.in_(member_ids))
                 .values(friend_email="", friend_key=literal("redacted:") + cast(referrals.c.id, String)))
    conn.execute(delete(referral_visits).where(referral_visits.c.shop_id == shop_id,
                                               referral_visits.c.member_id.in_(member_ids)))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, (int, str, bool, list, dict)):
        return value
    return str(value)
