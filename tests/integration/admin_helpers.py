"""Shared steps of the admin tests: sign in with a one-time link, read the CSRF token, place orders."""
from __future__ import annotations

import re

import requests

from integration.web.admin_auth import create_login_link
from tests.fakes import order_body, refund_body


def login_link(service, shop_id: int | None = None) -> str:  # type: ignore[no-untyped-def]
    with service.runtime.db.write() as conn:
        link = create_login_link(conn, shop_id or service.shop_id, service.base_url, service.runtime.clock())
    return link


def signed_in(service, shop_id: int | None = None) -> requests.Session:  # type: ignore[no-untyped-def]
    session = requests.Session()
    response = session.get(login_link(service, shop_id), timeout=10)
    assert response.status_code == 200 and "Dashboard" in response.text
    return session


def csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def place_orders(service, orders: list[tuple[str, str, str]], refunds: list[tuple[str, str, str]] = ()) -> None:  # type: ignore[no-untyped-def]
    """(order id, customer id, amount) paid; (order id, refund id, amount) refunded."""
    for order_id, customer_id, amount in orders:
        assert service.deliver("order/paid", order_body(order_id, customer_id, amount,
                                                        email=f"{customer_id}@example.com")).status_code == 200
    for order_id, refund_id, amount in refunds:
        assert service.deliver("order/refunded", refund_body(order_id, refund_id, amount)).status_code == 200
    service.work()
