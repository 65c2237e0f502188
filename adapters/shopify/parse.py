"""Webhook body (REST resource JSON) → neutral events. Pure: no IO, no clock.

Amounts are in the shop's currency (`*_set.shop_money`), never the presentment currency.
An order's `OrderPaid` always carries its *original* lines and amounts: refunds arrive as their
own `OrderRefunded` events, so an `orders/updated` for a refunded order repeats the same
`OrderPaid` (same points, an idempotent replay) instead of shrinking it.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from integration.events import (
    ZERO,
    AppUninstalled,
    Customer,
    CustomerDataRequested,
    CustomerRedactRequested,
    CustomerUpdated,
    Ignored,
    LineItem,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    ShopRedactRequested,
    StoreEvent,
)
from integration.ports import PayloadError

from .amounts import (
    PAID_STATUSES,
    line_item,
    money,
    order_amounts,
    plain_id,
    refund_amounts,
    timestamp,
)

Json = dict[str, Any]


def load(body: bytes) -> Json:
    """JSON object from the raw body; decimals stay Decimal (never float)."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise PayloadError(f"body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    return data


def customer_from(data: Json | None, email: str | None = None, locale: str | None = None) -> Customer | None:
    """A REST Customer (order.customer or a customers/* body); None for a guest."""
    if not data or data.get("id") is None:
        return None
    consent = data.get("email_marketing_consent")
    if isinstance(consent, dict) and consent.get("state"):
        accepts = consent["state"] == "subscribed"
    else:
        accepts = data.get("accepts_marketing")
    return Customer(
        customer_id=plain_id(data["id"], "customer.id"),
        email=data.get("email") or email,
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        accepts_marketing=accepts,
        locale=data.get("locale") or locale,
    )


def order_customer(order: Json) -> Customer | None:
    """The buyer; a guest checkout is keyed `guest:<email>` (as in `Customer`'s contract)."""
    email = order.get("email") or order.get("contact_email")
    customer = customer_from(order.get("customer"), email, order.get("customer_locale"))
    if customer is None and email:
        customer = Customer(customer_id="guest:" + email.strip().lower(), email=email)
    return customer


def _allocations(item: Json) -> list[Decimal]:
    return [money(a.get("amount_set") or a.get("amount"), "discount allocation") for a in item.get("discount_allocations") or []]


def _line(item: Json, quantity: int | None = None) -> LineItem:
    return line_item(
        product_id=item.get("product_id"),
        variant_id=item.get("variant_id"),
        quantity=int(item.get("quantity", 0) if quantity is None else quantity),
        unit_price=money(item.get("price_set") or item.get("price"), "line_items.price"),
        discounts=_allocations(item),
        title=item.get("title") or "",
        sku=item.get("sku"),
        gift_card=bool(item.get("gift_card")),
    )


def _shipping(order: Json) -> Decimal:
    total = ZERO
    for shipping_line in order.get("shipping_lines") or []:
        if shipping_line.get("is_removed"):
            continue
        total += money(shipping_line.get("price_set") or shipping_line.get("price"), "shipping_lines.price")
        total -= sum(_allocations(shipping_line), ZERO)
    return total


def order_paid(order: Json) -> OrderPaid | Ignored:
    order_id = plain_id(order.get("id"), "order id")
    customer = order_customer(order)
    if customer is None:
        return Ignored(f"order {order_id} has neither customer nor email")
    lines = tuple(_line(item) for item in order.get("line_items") or [])
    return OrderPaid(
        order_id=order_id,
        customer=customer,
        paid_at=timestamp(order.get("processed_at") or order.get("updated_at"), "processed_at"),
        currency=order.get("currency") or "",
        amounts=order_amounts(
            lines,
            shipping=_shipping(order),
            taxes=money(order.get("total_tax_set") or order.get("total_tax"), "total_tax"),
            tips=money(order.get("total_tip_received"), "total_tip_received"),
        ),
        order_number=order.get("name") or (str(order["order_number"]) if order.get("order_number") else None),
        line_items=lines,
        discount_codes=tuple(d["code"] for d in order.get("discount_codes") or [] if d.get("code")),
        total=money(order.get("total_price_set") or order.get("total_price"), "total_price"),
        shipping_address=one_line(order.get("shipping_address"), ("address1", "address2", "zip", "city", "country_code")),
    )


def one_line(address: Any, keys: tuple[str, ...]) -> str | None:
    """An address as one line of its non-empty parts, in `keys` order; None when there is none."""
    if not isinstance(address, dict):
        return None
    parts = [str(address[key]).strip() for key in keys if address.get(key) and str(address[key]).strip()]
    return ", ".join(parts) or None


def refund(data: Json, customer: Customer | None = None) -> OrderRefunded:
    """One REST Refund. Shipping comes from `refund_shipping_lines` when present, else from the
    `shipping_refund` adjustments (negative amounts); taxes include the adjustments' taxes."""
    lines, taxes = [], ZERO
    for refund_line in data.get("refund_line_items") or []:
        item = dict(refund_line.get("line_item") or {})
        base = _line(item, quantity=int(refund_line.get("quantity", 0)))
        amount = money(refund_line.get("subtotal_set") or refund_line.get("subtotal"), "refund subtotal")
        lines.append(LineItem(base.product_id, base.variant_id, base.quantity, amount, base.title, base.sku, base.gift_card))
        taxes += money(refund_line.get("total_tax_set") or refund_line.get("total_tax"), "refund tax")
    shipping = sum((money(s.get("subtotal_amount_set"), "refund shipping") for s in data.get("refund_shipping_lines") or []), ZERO)
    taxes += sum((money(s.get("tax_amount_set"), "refund shipping tax") for s in data.get("refund_shipping_lines") or []), ZERO)
    discrepancies = ZERO
    for adjustment in data.get("order_adjustments") or []:
        amount = money(adjustment.get("amount_set") or adjustment.get("amount"), "order adjustment")
        taxes -= money(adjustment.get("tax_amount_set") or adjustment.get("tax_amount"), "adjustment tax")
        if adjustment.get("kind") == "shipping_refund":
            if not data.get("refund_shipping_lines"):  # newer versions report it there instead
                shipping -= amount
        else:
            discrepancies += amount
    return OrderRefunded(
        order_id=plain_id(data.get("order_id"), "refund order_id"),
        refund_id=plain_id(data.get("id"), "refund id"),
        refunded_at=timestamp(data.get("processed_at") or data.get("created_at"), "refund processed_at"),
        amounts=refund_amounts(tuple(lines), shipping, taxes, discrepancies),
        customer=customer,
        line_items=tuple(lines),
    )


def order_events(order: Json, *, paid: bool = False) -> list[StoreEvent]:
    """Everything an order says: paid (if so), each refund, cancelled (if so), in that order."""
    order_id = plain_id(order.get("id"), "order id")
    status = (order.get("financial_status") or "").lower()
    customer = order_customer(order)
    events: list[StoreEvent] = []
    if paid or status in PAID_STATUSES:
        events.append(order_paid(order))
        events.extend(refund({**r, "order_id": r.get("order_id", order_id)}, customer) for r in order.get("refunds") or [])
    if order.get("cancelled_at"):
        events.append(OrderCancelled(order_id, timestamp(order["cancelled_at"], "cancelled_at"), customer))
    return events or [Ignored(f"order {order_id} is {status or 'without financial_status'}")]


def _cancelled(order: Json) -> list[StoreEvent]:
    order_id = plain_id(order.get("id"), "order id")
    when = order.get("cancelled_at") or order.get("updated_at")
    return [OrderCancelled(order_id, timestamp(when, "cancelled_at"), order_customer(order))]


def _customer_updated(data: Json) -> list[StoreEvent]:
    customer = customer_from(data)
    if customer is None:
        raise PayloadError("customer body has no id")
    return [CustomerUpdated(customer, timestamp(data.get("updated_at") or data.get("created_at"), "updated_at"))]


def _compliance_customer(data: Json) -> tuple[str, str | None]:
    customer = data.get("customer") or {}
    return plain_id(customer.get("id"), "customer.id"), customer.get("email")


def _data_request(data: Json) -> list[StoreEvent]:
    customer_id, email = _compliance_customer(data)
    request_id = plain_id((data.get("data_request") or {}).get("id"), "data_request.id")
    orders = tuple(plain_id(o) for o in data.get("orders_requested") or [])
    return [CustomerDataRequested(customer_id, email, request_id, orders)]


def _redact(data: Json) -> list[StoreEvent]:
    customer_id, email = _compliance_customer(data)
    return [CustomerRedactRequested(customer_id, email, tuple(plain_id(o) for o in data.get("orders_to_redact") or []))]


TOPICS: dict[str, Callable[[Json], list[StoreEvent]]] = {
    "orders/paid": lambda d: order_events(d, paid=True),
    "orders/create": order_events,
    "orders/updated": order_events,
    "orders/cancelled": _cancelled,
    "refunds/create": lambda d: [refund(d)],
    "customers/create": _customer_updated,
    "customers/update": _customer_updated,
    "customers/data_request": _data_request,
    "customers/redact": _redact,
}
TIMED_TOPICS = frozenset({"app/uninstalled", "shop/redact"})


def parse(topic: str, body: bytes, received_at: datetime | None = None) -> Sequence[StoreEvent]:
    """Events in one delivery. `received_at` (X-Shopify-Triggered-At) dates the two topics whose
    body carries no time of its own (app/uninstalled, shop/redact)."""
    topic = topic.strip().lower()
    if topic not in TOPICS and topic not in TIMED_TOPICS:
        return [Ignored(f"topic {topic} is not used")]
    data = load(body)
    if topic in TOPICS:
        return TOPICS[topic](data)
    if received_at is None:
        raise PayloadError(f"{topic} carries no time: pass the delivery's X-Shopify-Triggered-At")
    return [AppUninstalled(received_at)] if topic == "app/uninstalled" else [ShopRedactRequested(received_at)]
