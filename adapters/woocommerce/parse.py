"""WooCommerce REST v3 payloads → neutral events. Pure; standard library and the core's types only.

A webhook body is the order *as it is when the delivery runs* (deliveries are coalesced and never
retried), so every order delivery is read as "here is order X now": paid statuses give `OrderPaid`
plus one `OrderRefunded` per entry of its `refunds` array; the core's unique source keys make the
repetition harmless. Money fields are strings → `Decimal`; `*_gmt` dates are UTC without offset.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integration.events import (
    ZERO,
    Amounts,
    Customer,
    CustomerUpdated,
    Ignored,
    LineItem,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    StoreEvent,
)
from integration.ports import PayloadError

PAID_STATUSES = frozenset({"processing", "completed"})  # wc_get_is_paid_statuses()
CANCELLED_STATUSES = frozenset({"cancelled", "trash"})
ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})
CUSTOMER_TOPICS = frozenset({"customer.created", "customer.updated"})
# `order.deleted` carries only {"id": N}: no time at all. Used when the caller gives no received_at.
UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
# Line-item meta written by the common gift-card extensions (WooCommerce Gift Cards `wc_gc_giftcard_*`,
# PW Gift Cards `pw_gift_card_*`, YITH `ywgc_*`). Core WooCommerce has no gift cards: a heuristic.
_GIFT_CARD_META = re.compile(r"^_?(wc_gc_giftcard|pw_gift_card|ywgc_|gift_?card)", re.IGNORECASE)


def parse(topic: str, body: bytes, received_at: datetime | None = None) -> list[StoreEvent]:
    """Events in one delivery. `received_at` only dates `order.deleted`, whose body has no time."""
    topic = (topic or "").strip().lower()
    if topic == "order.deleted":
        order_id = _id(load_object(body))
        return [OrderCancelled(order_id=order_id, cancelled_at=received_at or UNKNOWN_TIME)]
    if topic in ORDER_TOPICS:
        return order_events(load_object(body))
    if topic in CUSTOMER_TOPICS:
        return [customer_updated(load_object(body))]
    return [Ignored(f"topic {topic or '(none)'} is not used")]


def load_object(body: bytes) -> dict[str, Any]:
    """The JSON object in `body`, floats as Decimal. A REST error envelope (the webhook's owner lost
    its rights, so WooCommerce delivered `{code, message, data}`) is a PayloadError too."""
    try:
        payload = json.loads(bytes(body).decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, TypeError) as error:
        raise PayloadError(f"body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise PayloadError("body is not a JSON object")
    if "id" not in payload and "code" in payload and "message" in payload:
        raise PayloadError(f"store sent an error instead of a resource: {payload.get('code')}")
    return payload


def order_events(order: Mapping[str, Any]) -> list[StoreEvent]:
    """What one order snapshot means now; used by webhooks, reconciliation and `find_order`."""
    order_id = _id(order)
    status = str(order.get("status") or "").strip().lower()
    if status in PAID_STATUSES:
        paid = order_paid(order)
        if paid is None:
            return [Ignored(f"order {order_id} is a guest order without an email")]
        return [paid, *order_refunds(order)]
    if status == "refunded":
        # Refunded in full. Its refund entries say how; without any, reverse the whole order.
        return list(order_refunds(order)) or [_cancelled(order)]
    if status in CANCELLED_STATUSES:
        return [_cancelled(order)]
    return [Ignored(f"order {order_id} is {status or 'without a status'}, not paid")]


def order_paid(order: Mapping[str, Any]) -> OrderPaid | None:
    """The paid order; None for a guest order without an email (nobody to credit)."""
    customer = order_customer(order)
    if customer is None:
        return None
    lines = tuple(_line_item(item) for item in _objects(order.get("line_items")))
    return OrderPaid(
        order_id=_id(order),
        customer=customer,
        paid_at=_paid_at(order),
        currency=str(order.get("currency") or "").upper(),
        amounts=order_amounts(order, lines),
        order_number=str(order.get("number") or _id(order)),
        line_items=lines,
        discount_codes=tuple(
            str(line.get("code")).strip().lower()
            for line in _objects(order.get("coupon_lines")) if line.get("code")
        ),
        total=_money(order.get("total"), "total"),
        shipping_address=_one_line(order.get("shipping")),
    )


def _one_line(address: Any) -> str | None:
    """The shipping address as one line of its non-empty parts; None when the order has none."""
    if not isinstance(address, Mapping):
        return None
    keys = ("address_1", "address_2", "postcode", "city", "country")
    parts = [str(address[key]).strip() for key in keys if address.get(key) and str(address[key]).strip()]
    return ", ".join(parts) or None


def order_amounts(order: Mapping[str, Any], lines: tuple[LineItem, ...]) -> Amounts:
    """Merchandise = line totals after discounts, without tax and without gift-card products."""
    return Amounts(
        merchandise=sum((line.amount for line in lines if not line.gift_card), ZERO),
        shipping=_money(order.get("shipping_total", "0"), "shipping_total"),
        taxes=_money(order.get("total_tax", "0"), "total_tax"),
        gift_cards=sum((line.amount for line in lines if line.gift_card), ZERO),
    )


def order_refunds(order: Mapping[str, Any]) -> list[OrderRefunded]:
    """One event per `refunds` entry, oldest (lowest id) first.

    A webhook gives only each refund's gross total. It is split as: taxes in proportion to the
    order's tax share, then the rest to merchandise until all merchandise is refunded, then to
    shipping, then gift cards; what is left (fees, rounding) is dropped. Item refunds and full
    refunds come out exact; a shipping-only partial refund counts as merchandise (over-reversal;
    the exact split needs `GET orders/<id>/refunds`). Each split depends only on lower ids, so a
    refund maps the same way in every later delivery."""
    lines = tuple(_line_item(item) for item in _objects(order.get("line_items")))
    left = order_amounts(order, lines)
    total, tax_total = _money(order.get("total"), "total"), left.taxes
    quantum = Decimal(1).scaleb(total.as_tuple().exponent) if total else Decimal("0.01")
    order_id, changed_at, customer = _id(order), _changed_at(order), order_customer(order)
    events = []
    for refund in sorted(_objects(order.get("refunds")), key=_refund_sort_key):
        gross = abs(_money(refund.get("total"), "refunds.total"))
        taxes = min((gross * tax_total / total).quantize(quantum, ROUND_HALF_UP) if total else ZERO, left.taxes)
        net = gross - taxes
        merchandise = min(net, left.merchandise)
        shipping = min(net - merchandise, left.shipping)
        gift_cards = min(net - merchandise - shipping, left.gift_cards)
        part = Amounts(merchandise=merchandise, shipping=shipping, taxes=taxes, gift_cards=gift_cards)
        left = Amounts(merchandise=left.merchandise - merchandise, shipping=left.shipping - shipping,
                       taxes=left.taxes - taxes, gift_cards=left.gift_cards - gift_cards)
        events.append(OrderRefunded(order_id=order_id, refund_id=_id(refund), refunded_at=changed_at,
                                    amounts=part, customer=customer))
    return events


def order_customer(order: Mapping[str, Any]) -> Customer | None:
    """Registered buyer by id; a guest (customer_id 0) as `guest:<lower-cased billing email>`."""
    billing = order.get("billing") if isinstance(order.get("billing"), Mapping) else {}
    email = _text(billing.get("email"))
    customer_id = _optional_id(order.get("customer_id"))
    if customer_id is None:
        if email is None:
            return None
        customer_id = f"guest:{email.lower()}"
    return Customer(customer_id=customer_id, email=email, first_name=_text(billing.get("first_name")),
                    last_name=_text(billing.get("last_name")))


def customer_updated(payload: Mapping[str, Any]) -> CustomerUpdated:
    """customer.created / customer.updated → the customer's current id, email and names."""
    billing = payload.get("billing") if isinstance(payload.get("billing"), Mapping) else {}
    customer = Customer(
        customer_id=_id(payload),
        email=_text(payload.get("email")) or _text(billing.get("email")),
        first_name=_text(payload.get("first_name")) or _text(billing.get("first_name")),
        last_name=_text(payload.get("last_name")) or _text(billing.get("last_name")),
    )
    updated_at = _utc(payload.get("date_modified_gmt")) or _utc(payload.get("date_created_gmt"))
    if updated_at is None:
        raise PayloadError(f"customer {customer.customer_id} has no date")
    return CustomerUpdated(customer=customer, updated_at=updated_at)


def _cancelled(order: Mapping[str, Any]) -> OrderCancelled:
    return OrderCancelled(order_id=_id(order), cancelled_at=_changed_at(order), customer=order_customer(order))


def _line_item(item: Mapping[str, Any]) -> LineItem:
    try:
        quantity = int(item.get("quantity") or 0)
    except (TypeError, ValueError):
        raise PayloadError(f"line item quantity {item.get('quantity')!r}") from None
    return LineItem(
        product_id=_optional_id(item.get("product_id")),
        variant_id=_optional_id(item.get("variation_id")),
        quantity=quantity,
        amount=_money(item.get("total"), "line_items.total"),
        title=html.unescape(str(item.get("name") or "")),  # WooCommerce sends "&ndash;" etc.
        sku=_text(item.get("sku")),
        gift_card=any(_GIFT_CARD_META.match(str(meta.get("key") or "")) for meta in _objects(item.get("meta_data"))),
    )


def _paid_at(order: Mapping[str, Any]) -> datetime:
    """date_paid_gmt; old or imported orders lack it, then date_completed_gmt / date_modified_gmt."""
    return _first_time(order, ("date_paid_gmt", "date_completed_gmt", "date_modified_gmt", "date_created_gmt"))


def _changed_at(order: Mapping[str, Any]) -> datetime:
    """When the order last changed: the best time WooCommerce gives for a refund or cancellation."""
    return _first_time(order, ("date_modified_gmt", "date_completed_gmt", "date_paid_gmt", "date_created_gmt"))


def _first_time(order: Mapping[str, Any], keys: tuple[str, ...]) -> datetime:
    for key in keys:
        value = _utc(order.get(key))
        if value is not None:
            return value
    raise PayloadError(f"order {_id(order)} has no date")


def _utc(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise PayloadError(f"bad date {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _money(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise PayloadError(f"{what} is not an amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PayloadError(f"{what} is not an amount: {value!r}") from None
    if not amount.is_finite():
        raise PayloadError(f"{what} is not an amount: {value!r}")
    return amount


def _id(obj: Mapping[str, Any]) -> str:
    value = _optional_id(obj.get("id")) if isinstance(obj, Mapping) else None
    if value is None:
        raise PayloadError("payload has no id")
    return value


def _optional_id(value: Any) -> str | None:
    """Positive integer ids as strings; 0, None and junk as None (0 means "none" in WooCommerce)."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    return text if text.isdigit() and int(text) > 0 else None


def _refund_sort_key(refund: Mapping[str, Any]) -> int:
    return int(_id(refund))


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text or None
