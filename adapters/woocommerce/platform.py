"""`WooCommercePlatform`: the `StorePlatform` port for WooCommerce stores (REST API v3).

`verify`, `is_ping`, `inspect` and `parse` are pure (verify.py, parse.py). The rest talk to the
store through `WooClient` (client.py): `ShopAccess.domain` is the store URL, credentials are
`consumer_key` and `consumer_secret` (the webhook secret is passed by the core to `verify`).
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from adapters.woocommerce import coupons, parse, subscriptions, verify
from adapters.woocommerce.client import WooClient, WooRequestError, remote_id
from integration.events import Delivery, Ignored, OrderPaid, StoreEvent
from integration.ports import (
    CustomerTags,
    DiscountCode,
    PayloadError,
    RemoteRef,
    ShopAccess,
    StoreAuthError,
    StoreWriteError,
)

TAGS_META_KEY = "_loyalty_tags"  # WooCommerce customers have no tags: a comma-separated meta value
ORDERS_PAGE_SIZE = 100  # the REST API's maximum
FIND_ORDER_MAX_PAGES = 5


class WooCommercePlatform:
    """WooCommerce as the core sees it. Keeps one `requests.Session` (connection reuse across
    stores); requests does not promise a Session is thread-safe, so give each worker thread its
    own instance if calls run in parallel."""

    name = "woocommerce"

    def __init__(self, timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = 4, verify_tls: bool = True):
        self.timeout, self.sleep, self.max_attempts, self.verify_tls = timeout, sleep, max_attempts, verify_tls
        self._session = requests.Session()

    # -- pure ---------------------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        return verify.verify(headers, body, secrets)

    @staticmethod
    def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
        """The unsigned creation ping: answer 200, store nothing (see verify.is_ping)."""
        return verify.is_ping(headers, body)

    def inspect(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        return verify.inspect(headers, body)

    def parse(self, topic: str, body: bytes, received_at: datetime | None = None) -> Sequence[StoreEvent]:
        """See parse.parse; `received_at` (optional, beyond the port) dates `order.deleted`."""
        return parse.parse(topic, body, received_at)

    # -- store calls --------------------------------------------------------------------------
    def client(self, shop: ShopAccess) -> WooClient:
        """A client for one shop; StoreAuthError if its keys are missing."""
        key, secret = shop.credentials.get("consumer_key"), shop.credentials.get("consumer_secret")
        if not key or not secret:
            raise StoreAuthError(f"shop {shop.shop_id}: no WooCommerce API keys")
        return WooClient(shop.domain, key, secret, session=self._session, timeout=self.timeout,
                         sleep=self.sleep, max_attempts=self.max_attempts, verify_tls=self.verify_tls)

    def create_discount_code(self, shop: ShopAccess, code: DiscountCode) -> RemoteRef:
        """POST coupons; if the code exists already (our earlier attempt did succeed), the
        existing coupon's ref, provided it is ours (same code, our owner mark)."""
        body = coupons.coupon_body(code)
        client = self.client(shop)
        try:
            created = client.post("coupons", body)
        except WooRequestError as error:
            if error.code != coupons.CODE_EXISTS:
                raise
            return self._existing_coupon(client, code)
        return RemoteRef(remote_id(created, "create coupon"), coupons.coupon_url(client.base_url, body["code"]))

    def _existing_coupon(self, client: WooClient, code: DiscountCode) -> RemoteRef:
        found = client.get("coupons", {"code": code.code.strip().lower()})
        for coupon in found if isinstance(found, list) else []:
            if coupons.is_ours(coupon, code):
                return RemoteRef(remote_id(coupon, "find coupon"), coupons.coupon_url(client.base_url, code.code))
        raise StoreWriteError(f"coupon code {code.code.lower()} belongs to another (or a trashed) coupon",
                              retryable=False)

    def delete_discount_code(self, shop: ShopAccess, remote: RemoteRef) -> None:
        """DELETE coupons/<id>?force=true (without force it is only trashed); gone already is fine."""
        try:
            self.client(shop).delete(f"coupons/{remote.remote_id}", {"force": "true"})
        except WooRequestError as error:
            if error.status not in (404, 410):
                raise

    def tag_customer(self, shop: ShopAccess, tags: CustomerTags) -> None:
        """Keep the member's tags in customer meta `_loyalty_tags` ("gold,member"), for themes and
        plugins to read. Guests (`guest:<email>`) are not WordPress users: nothing to write.
        Read-modify-write: the core must not tag one customer from two workers at once."""
        if not tags.customer_id.isdigit():
            return
        client = self.client(shop)
        customer = client.get(f"customers/{tags.customer_id}")
        current = _meta_tags(customer)
        wanted = (current | set(tags.add)) - set(tags.remove)
        if wanted == current:
            return
        client.put(f"customers/{tags.customer_id}",
                   {"meta_data": [{"key": TAGS_META_KEY, "value": ",".join(sorted(wanted))}]})

    def orders_since(self, shop: ShopAccess, since: datetime) -> Iterator[Sequence[StoreEvent]]:
        """Orders modified after `since` (UTC), oldest change first, all pages, each mapped as its
        webhook would be. An order we cannot read yields `[Ignored(reason)]`, not an abort."""
        moment = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        params = {"modified_after": moment.strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true",
                  "per_page": ORDERS_PAGE_SIZE, "orderby": "modified", "order": "asc"}
        for page in self.client(shop).pages("orders", params):
            for order in page:
                yield _events_or_ignored(order)

    def find_order(self, shop: ShopAccess, order_number: str, email: str) -> OrderPaid | None:
        """The paid order with this customer-facing number whose billing email matches.

        Numbers are ids unless a plugin renumbers orders: try `orders/<number>` first, then the
        customer's orders found by `search=<email>`."""
        number, client = order_number.strip().lstrip("#"), self.client(shop)
        if number.isdigit():
            try:
                order = client.get(f"orders/{number}")
            except WooRequestError:
                order = None
            if _is_match(order, number, email):
                return _paid(order)
        pages = client.pages("orders", {"search": email.strip(), "per_page": ORDERS_PAGE_SIZE})
        for page in itertools.islice(pages, FIND_ORDER_MAX_PAGES):
            for candidate in page:
                if _is_match(candidate, number, email):
                    return _paid(candidate)
        return None

    # -- webhooks -----------------------------------------------------------------------------
    def create_webhooks(self, shop: ShopAccess, delivery_url: str, secret: str) -> list[str]:
        """Our webhook ids, one per topic in `subscriptions.TOPICS` (created or re-used)."""
        return subscriptions.create_webhooks(self.client(shop), delivery_url, secret)

    def webhook_health(self, shop: ShopAccess, delivery_url: str | None = None) -> list[subscriptions.WebhookState]:
        return subscriptions.webhook_health(self.client(shop), delivery_url)

    def repair_webhooks(self, shop: ShopAccess, delivery_url: str, secret: str) -> list[subscriptions.WebhookState]:
        return subscriptions.repair_webhooks(self.client(shop), delivery_url, secret)


def _meta_tags(customer: Any) -> set[str]:
    meta = customer.get("meta_data") if isinstance(customer, dict) else None
    for item in meta if isinstance(meta, list) else []:
        if isinstance(item, dict) and item.get("key") == TAGS_META_KEY:
            value = item.get("value")
            parts = value if isinstance(value, list) else str(value or "").split(",")
            return {str(part).strip() for part in parts if str(part).strip()}
    return set()


def _events_or_ignored(order: Any) -> Sequence[StoreEvent]:
    try:
        return parse.order_events(order if isinstance(order, dict) else {})
    except PayloadError as error:
        order_id = order.get("id") if isinstance(order, dict) else None
        return [Ignored(f"order {order_id} unreadable: {error}")]


def _is_match(order: Any, number: str, email: str) -> bool:
    if not isinstance(order, dict):
        return False
    billing = order.get("billing") if isinstance(order.get("billing"), dict) else {}
    same_email = str(billing.get("email") or "").strip().lower() == email.strip().lower() != ""
    return str(order.get("number") or order.get("id")) == number and same_email


def _paid(order: dict[str, Any]) -> OrderPaid | None:
    events = _events_or_ignored(order)
    return next((event for event in events if isinstance(event, OrderPaid)), None)
