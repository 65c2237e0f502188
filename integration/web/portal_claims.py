"""Claiming a past order from the portal: order number + email, checked against the store
(`platform.find_order`), then credited through the webhook's own path (`dispatch.handle` with the
`OrderPaid`), so a second claim, or the webhook arriving later, credits nothing more.

Who gets the points: a member (link or signed-in customer) only for their own order (same store
customer, or the email on file); an anonymous visitor's claim goes to the order's customer, who
gets a fresh portal link by email. Claims are rate-limited per member and per address.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from flask import Response
from sqlalchemy import select, update

from integration import notifications
from integration.db import repo
from integration.db.tables import claims, members
from integration.dispatch import handle
from integration.events import OrderPaid
from integration.ports import StoreWriteError

if TYPE_CHECKING:
    from integration.web.portal import Visit

MAX_PER_MEMBER = 5  # per CLAIM_WINDOW
MAX_PER_ADDRESS = 10


def claim(visit: Visit, order_number: str, email: str, ip: str) -> Response:
    from integration.web import portal

    runtime, lang = portal._runtime(), visit.lang
    number, email = order_number.strip()[:100], email.strip()[:320]
    if not number or "@" not in email:
        return portal.member_page(visit, ("error", lang.gettext("Enter your order number and the email used for it.")), 422)
    now = runtime.clock()
    with runtime.db.write() as conn:
        by_member, by_ip = portal.recent_claims(conn, visit.shop_id, visit.member_id, ip, now - portal.CLAIM_WINDOW)
        if by_member >= MAX_PER_MEMBER or by_ip >= MAX_PER_ADDRESS:
            return portal.member_page(visit, ("error", lang.gettext("Too many tries. Please wait an hour.")), 429)
        claim_id = conn.execute(claims.insert().values(
            shop_id=visit.shop_id, member_id=visit.member_id, ip=ip[:64], order_number=number, outcome="tried",
            created_at=now).returning(claims.c.id)).scalar_one()
        shop = repo.shop_row(conn, visit.shop_id)
        owner = conn.execute(select(members.c.customer_id, members.c.email).where(
            members.c.id == visit.member_id)).first() if visit.member_id else None
    try:
        with runtime.db.read() as conn:
            access = runtime.access(conn, visit.shop_id)
        order = runtime.platforms[shop.platform].find_order(access, number, email)
    except StoreWriteError:
        _outcome(runtime, claim_id, "error")
        return portal.member_page(visit, ("error", lang.gettext("The store could not be reached. Please try later.")), 503)
    if order is None:
        _outcome(runtime, claim_id, "not_found")
        return portal.member_page(visit, ("error", lang.gettext("We found no paid order with this number and email.")), 404)
    customer_id = owner.customer_id if owner else visit.customer_id
    if customer_id and not _belongs(order, customer_id, owner.email if owner else None, email):
        _outcome(runtime, claim_id, "refused")
        return portal.member_page(visit, ("error", lang.gettext("This order belongs to another account.")), 403)
    if customer_id:
        order = dataclasses.replace(order, customer=dataclasses.replace(order.customer, customer_id=customer_id))
    shown = order.order_number or number
    with runtime.db.write() as conn:
        before = portal.order_points(conn, visit.shop_id, order.order_id)
        handle(conn, visit.shop_id, order, now)
        after = portal.order_points(conn, visit.shop_id, order.order_id)
        conn.execute(update(claims).where(claims.c.id == claim_id).values(
            outcome="duplicate" if before else "credited", member_id=after.member_id))
        if not customer_id and not before:
            notifications.portal_link(conn, visit.shop_id, after.member_id, now)
    if before:
        return portal.member_page(visit, ("ok", lang.gettext("Order %(order)s already has its points.", order=shown)))
    if not customer_id:
        return portal.member_page(visit, ("ok", lang.gettext(
            "Order %(order)s is now in your rewards. We emailed you a link to see them.", order=shown)))
    return portal.member_page(visit, ("ok", lang.gettext("Order %(order)s added: +%(points)s.", order=shown,
                                                         points=lang.points(after.earned_points))))


def _belongs(order: OrderPaid, customer_id: str, member_email: str | None, typed_email: str) -> bool:
    """The store says the order is this customer's, or it was placed with the email on file."""
    if order.customer.customer_id == customer_id:
        return True
    return bool(member_email) and member_email.lower() == typed_email.lower()


def _outcome(runtime, claim_id: int, outcome: str) -> None:  # type: ignore[no-untyped-def]
    with runtime.db.write() as conn:
        conn.execute(update(claims).where(claims.c.id == claim_id).values(outcome=outcome))
