"""A test-only store platform: satisfies `StorePlatform` without inheriting from it.

Deliveries are small JSON documents signed like Shopify's (base64 HMAC-SHA256 in `X-Fake-Hmac`);
store writes are recorded, and can be told to fail a number of times first.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from integration.events import (
    Amounts,
    AppUninstalled,
    Customer,
    CustomerUpdated,
    Delivery,
    Ignored,
    LineItem,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    StoreEvent,
)
from integration.ports import CustomerTags, DiscountCode, PayloadError, RemoteRef, ShopAccess, StoreWriteError


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def order_body(order_id: str, customer_id: str, amount: str, *, paid_at: str = "2026-03-01T12:00:00+00:00",
               email: str | None = None, shipping: str = "0", lines: list[dict] | None = None,
               codes: list[str] | None = None, address: str | None = None) -> bytes:
    return json.dumps({"order_id": order_id, "customer_id": customer_id, "email": email, "amount": amount,
                       "shipping": shipping, "paid_at": paid_at, "lines": lines or [],
                       "codes": codes or [], "address": address}).encode()


def refund_body(order_id: str, refund_id: str, amount: str, at: str = "2026-03-02T12:00:00+00:00") -> bytes:
    return json.dumps({"order_id": order_id, "refund_id": refund_id, "amount": amount, "at": at}).encode()


def _customer(data: Mapping) -> Customer:
    return Customer(customer_id=str(data["customer_id"]), email=data.get("email"),
                    accepts_marketing=data.get("accepts_marketing"))


@dataclass
class FakePlatform:
    name: str = "fake"
    calls: list[tuple[str, object]] = field(default_factory=list)
    failures: list[StoreWriteError] = field(default_factory=list)  # raised, in order, before succeeding

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get("x-fake-hmac", "")
        return any(hmac.compare_digest(sign(body, s), given) for s in secrets if s)

    def inspect(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        lower = {k.lower(): v for k, v in headers.items()}
        return Delivery(delivery_id=lower.get("x-fake-delivery") or hashlib.sha256(body).hexdigest(),
                        topic=lower["x-fake-topic"], shop_domain=lower.get("x-fake-shop"))

    def parse(self, topic: str, body: bytes, received_at: datetime | None = None) -> Sequence[StoreEvent]:
        try:
            data = json.loads(body)
            return self._events(topic, data)
        except (ValueError, KeyError, TypeError, ArithmeticError) as error:
            raise PayloadError(f"{topic}: {error!r}") from None

    def _events(self, topic: str, data: dict) -> list[StoreEvent]:
        if topic == "order/paid":
            lines = tuple(LineItem(product_id=str(line["product_id"]), variant_id=None, quantity=int(line.get("quantity", 1)),
                                   amount=Decimal(line.get("amount", "0"))) for line in data.get("lines", []))
            return [OrderPaid(order_id=str(data["order_id"]), customer=_customer(data),
                              paid_at=datetime.fromisoformat(data["paid_at"]), currency="USD",
                              amounts=Amounts(merchandise=Decimal(data["amount"]), shipping=Decimal(data.get("shipping", "0"))),
                              order_number=f"#{data['order_id']}", line_items=lines,
                              discount_codes=tuple(data.get("codes", ())),
                              total=Decimal(data["amount"]) + Decimal(data.get("shipping", "0")),
                              shipping_address=data.get("address"))]
        if topic == "order/refunded":
            return [OrderRefunded(order_id=str(data["order_id"]), refund_id=str(data["refund_id"]),
                                  refunded_at=datetime.fromisoformat(data["at"]),
                                  amounts=Amounts(merchandise=Decimal(data["amount"])))]
        if topic == "order/cancelled":
            return [OrderCancelled(order_id=str(data["order_id"]), cancelled_at=datetime.fromisoformat(data["at"]))]
        if topic == "customer/updated":
            return [CustomerUpdated(customer=_customer(data), updated_at=datetime.fromisoformat(data["at"]))]
        if topic == "app/uninstalled":
            return [AppUninstalled(uninstalled_at=datetime.fromisoformat(data["at"]))]
        return [Ignored(f"topic {topic}")]

    def _write(self, name: str, argument: object) -> None:
        self.calls.append((name, argument))
        if self.failures:
            raise self.failures.pop(0)

    def create_discount_code(self, shop: ShopAccess, code: DiscountCode) -> RemoteRef:
        self._write("create_discount_code", code)
        return RemoteRef(remote_id=f"fake/{code.code}", url=f"https://{shop.domain}/discount/{code.code}")

    def delete_discount_code(self, shop: ShopAccess, remote: RemoteRef) -> None:
        self._write("delete_discount_code", remote)

    def tag_customer(self, shop: ShopAccess, tags: CustomerTags) -> None:
        self._write("tag_customer", tags)

    def orders_since(self, shop: ShopAccess, since: datetime) -> Iterator[Sequence[StoreEvent]]:
        return iter(())

    def find_order(self, shop: ShopAccess, order_number: str, email: str) -> OrderPaid | None:
        return None
