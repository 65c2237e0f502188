"""Helpers for the portal and email tests: members made through real webhooks, their links,
the form token of a rendered page, and an SMTP server on loopback."""
from __future__ import annotations

import json
import re
from html import unescape

from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from integration import links
from integration.db.tables import members


def paid_order(order_id: str, customer_id: str, amount: str, *, email: str | None = "ann@example.com",
               marketing: bool = True, paid_at: str = "2026-03-01T12:00:00+00:00") -> bytes:
    return json.dumps({"order_id": order_id, "customer_id": customer_id, "email": email, "amount": amount,
                       "shipping": "0", "paid_at": paid_at, "lines": [], "codes": [],
                       "accepts_marketing": marketing}).encode()


def member_with_order(service, amount: str = "250.00", *, customer: str = "c1", order: str = "1001",  # type: ignore[no-untyped-def]
                      email: str | None = "ann@example.com", marketing: bool = True, locale: str | None = None,
                      first_name: str | None = "Ann") -> int:
    """A member enrolled by a paid order (signup bonus 50 + 1 point per dollar)."""
    assert service.deliver("order/paid", paid_order(order, customer, amount, email=email,
                                                    marketing=marketing)).status_code == 200
    service.work()
    with service.runtime.db.write() as conn:
        member_id = conn.execute(select(members.c.id).where(members.c.shop_id == service.shop_id,
                                                            members.c.customer_id == customer)).scalar_one()
        conn.execute(update(members).where(members.c.id == member_id).values(locale=locale, first_name=first_name))
    return member_id


def portal_link(service, member_id: int, shop_id: int | None = None) -> str:  # type: ignore[no-untyped-def]
    settings = service.runtime.settings.server
    return links.portal_url(service.base_url, settings.secret_key, shop_id or service.shop_id, member_id,
                            service.runtime.clock())


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found, "no form on the page"
    return unescape(found.group(1))


def text_of(html: str) -> str:
    """The page's visible text, tags stripped and spaces collapsed (for exact phrases)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


class Sink:
    """aiosmtpd handler that keeps every envelope."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)
        return "250 Message accepted"


class LoopbackController(Controller):
    """aiosmtpd's Controller on an ephemeral port (127.0.0.1:0): learn the port before the
    readiness probe connects to it."""

    def _trigger_server(self):  # type: ignore[no-untyped-def]
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
