"""Neutral store events: what an adapter's `parse` turns a platform payload into.

Standard library only. Money is `Decimal` in the shop's currency (never presentment currency);
ids are strings (platform ids can exceed 2**53); times are timezone-aware UTC `datetime`s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class Customer:
    """A store customer as the platform knows them. `customer_id` is the key; the rest may be None.

    Shopify redacts email and names until the app is approved for protected customer data, and a
    WooCommerce guest has customer id 0: its adapter then uses `"guest:" + lower-cased email`.
    """

    customer_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    accepts_marketing: bool | None = None
    locale: str | None = None
    birthday: date | None = None


@dataclass(frozen=True, slots=True)
class Amounts:
    """The parts of an order (or of a refund) that a program's earning basis picks from.

    `merchandise` is line items after every discount, without gift-card products; the rule engine
    adds shipping, taxes and gift cards only when the program says so. Tips never earn, and are
    carried only so that the whole can be explained.
    """

    merchandise: Decimal = ZERO
    shipping: Decimal = ZERO
    taxes: Decimal = ZERO
    gift_cards: Decimal = ZERO
    tips: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class LineItem:
    product_id: str | None
    variant_id: str | None
    quantity: int
    amount: Decimal  # after discounts, for all units of this line
    title: str = ""
    sku: str | None = None
    gift_card: bool = False


@dataclass(frozen=True, slots=True)
class OrderPaid:
    """An order the platform says is paid. May arrive many times for the same `order_id`."""

    order_id: str
    customer: Customer
    paid_at: datetime
    currency: str
    amounts: Amounts
    order_number: str | None = None
    line_items: tuple[LineItem, ...] = ()
    discount_codes: tuple[str, ...] = ()
    total: Decimal = ZERO  # what the customer paid in all, for reports
    shipping_address: str | None = None  # one line (street, postal code, city, country), for fraud checks


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    """One refund (partial or whole) of an order; `refund_id` is unique per order on the platform.

    `amounts` holds what this refund gave back, split as in `Amounts`.
    `line_items` lists refunded lines (membership plans end when their order is refunded).
    """

    order_id: str
    refund_id: str
    refunded_at: datetime
    amounts: Amounts
    customer: Customer | None = None
    line_items: tuple[LineItem, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The order is cancelled (or trashed) after it may have been paid: a full reversal."""

    order_id: str
    cancelled_at: datetime
    customer: Customer | None = None


@dataclass(frozen=True, slots=True)
class CustomerUpdated:
    """A customer was created or changed in the store (email, consent, names, locale)."""

    customer: Customer
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AppUninstalled:
    """The merchant removed the app: make no further calls to the store."""

    uninstalled_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerDataRequested:
    """Privacy law: the merchant asks for what we hold about a customer."""

    customer_id: str
    email: str | None
    request_id: str
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerRedactRequested:
    """Privacy law: erase a customer's personal data (ledger totals stay, anonymised)."""

    customer_id: str
    email: str | None
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShopRedactRequested:
    """Privacy law: erase everything we hold for the shop."""

    requested_at: datetime


@dataclass(frozen=True, slots=True)
class Ignored:
    """A delivery we accept but do not act on (an unpaid order update, a draft, a ping)."""

    reason: str


StoreEvent = (
    OrderPaid
    | OrderRefunded
    | OrderCancelled
    | CustomerUpdated
    | AppUninstalled
    | CustomerDataRequested
    | CustomerRedactRequested
    | ShopRedactRequested
    | Ignored
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the ingest needs from a delivery's headers before it stores it."""

    delivery_id: str
    topic: str
    shop_domain: str | None = None  # from a header (Shopify); None when the URL names the shop
    extra: dict[str, str] = field(default_factory=dict)
