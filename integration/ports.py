"""The `StorePlatform` port: what the core asks of a store platform. Standard library only.

Adapters (`adapters/shopify`, `adapters/woocommerce`) implement it without inheriting from it;
`tests/fakes.py` has a test-only implementation. `verify`, `inspect` and `parse` are pure; the rest
talk to the store and raise `StoreWriteError` (with `retryable`) when they fail.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from integration.events import Delivery, OrderPaid, StoreEvent


class LoyaltyError(Exception):
    """Base of every error the core raises on purpose."""


class PayloadError(LoyaltyError):
    """A signed delivery whose body cannot be understood. The event is kept, marked failed."""


class StoreWriteError(LoyaltyError):
    """A call to the store failed. `retryable` says whether trying again can help;
    `retry_after` (seconds) is the wait the platform announced, if any."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class StoreAuthError(StoreWriteError):
    """The store refused our credentials (uninstalled, revoked key): not retryable."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


@dataclass(frozen=True, slots=True)
class ShopAccess:
    """How to reach one shop. `credentials` are decrypted by the core just before a call and
    never logged: Shopify `access_token`; WooCommerce `consumer_key`, `consumer_secret`."""

    shop_id: int
    platform: str
    domain: str  # "x.myshopify.com", or a WooCommerce site URL "https://store.example"
    credentials: Mapping[str, str] = field(repr=False, default_factory=dict)
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class DiscountCode:
    """One single-use reward code to create in the store.

    kind: "amount_off" (value = money off the order), "percent_off" (value = percent, 0-100),
    "free_product" (value = the product's price, off one unit of `product_ids`),
    "free_shipping" (value ignored).
    """

    code: str
    kind: str
    value: Decimal
    customer_id: str
    customer_email: str | None
    starts_at: datetime
    ends_at: datetime
    title: str
    product_ids: tuple[str, ...] = ()
    variant_ids: tuple[str, ...] = ()
    minimum_subtotal: Decimal | None = None
    new_customers_only: bool = False


@dataclass(frozen=True, slots=True)
class RemoteRef:
    """The store's id for something we created (a discount node, a coupon), plus a shareable URL."""

    remote_id: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerTags:
    customer_id: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@runtime_checkable
class StorePlatform(Protocol):
    """A store platform as the core sees it."""

    name: str  # "shopify", "woocommerce"

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        """True if `body` carries a valid signature under any of `secrets` (constant time).

        `headers` may come in any case. Never raises on bad input: returns False."""
        ...

    def inspect(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Delivery id, topic and (when the headers carry it) shop domain, read from a verified
        delivery. Platforms that send no delivery id get one derived from the body's hash."""
        ...

    def parse(self, topic: str, body: bytes, received_at: datetime | None = None) -> Sequence[StoreEvent]:
        """Neutral events in one delivery, in order; `[Ignored(reason)]` for topics or states we do
        not act on. Pure. `received_at` dates events whose body carries no time (an uninstall).
        Raises `PayloadError` for a body it cannot understand."""
        ...

    def create_discount_code(self, shop: ShopAccess, code: DiscountCode) -> RemoteRef:
        """Create one single-use code. If the code already exists (a retried call that had
        succeeded), return the existing one's ref instead of failing. Raises `StoreWriteError`."""
        ...

    def delete_discount_code(self, shop: ShopAccess, remote: RemoteRef) -> None:
        """Remove a code we created (expired, refunded). Missing already is success."""
        ...

    def tag_customer(self, shop: ShopAccess, tags: CustomerTags) -> None:
        """Add and remove customer tags (tiers, membership). Raises `StoreWriteError`."""
        ...

    def orders_since(self, shop: ShopAccess, since: datetime) -> Iterator[Sequence[StoreEvent]]:
        """Every order changed since `since`, as the events a webhook for it would have given,
        one sequence per order, all pages. For reconciliation. Raises `StoreWriteError`."""
        ...

    def find_order(self, shop: ShopAccess, order_number: str, email: str) -> OrderPaid | None:
        """A paid order by its customer-facing number, if its email matches (portal claims)."""
        ...
