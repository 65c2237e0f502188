"""`ShopifyPlatform`: the `StorePlatform` port for Shopify (GraphQL Admin API only; REST is legacy)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import requests

from integration.events import Delivery, OrderPaid, StoreEvent
from integration.ports import CustomerTags, DiscountCode, RemoteRef, ShopAccess, StoreWriteError

from . import discounts, orders, parse, verify
from .client import GraphQLClient

TAGS_ADD = """mutation LoyaltyTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
TAGS_REMOVE = """mutation LoyaltyTagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
SUBSCRIBE = """mutation LoyaltyWebhookCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id }
    userErrors { field message }
  }
}"""
WEBHOOK_TOPICS = (
    "ORDERS_PAID", "ORDERS_CANCELLED", "REFUNDS_CREATE", "ORDERS_UPDATED",
    "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "APP_UNINSTALLED",
)
NOT_FOUND_HINTS = ("does not exist", "not found", "couldn't find", "could not find")


class ShopifyPlatform:
    """Implements `integration.ports.StorePlatform` (structurally; it does not inherit).

    `admin_url` is a template for the shop's Admin host (tests point it at a fake), `sleep` and
    `now` are injected so retries and dated deliveries are testable without waiting.
    """

    name = "shopify"

    def __init__(
        self,
        admin_url: str = "https://{shop}",
        api_version: str = "2026-10",
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        *,
        session: requests.Session | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.api_version = api_version
        self.now = now
        self.client = GraphQLClient(
            admin_url, api_version, timeout=timeout, sleep=sleep, max_attempts=max_attempts, session=session
        )

    # -- pure ---------------------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        return verify.verify_webhook(headers, body, secrets)

    def inspect(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        return verify.inspect_delivery(headers, body)

    def parse(self, topic: str, body: bytes, received_at: datetime | None = None) -> Sequence[StoreEvent]:
        """As the port says. Pass `received_at` (see `verify.triggered_at(delivery)`) to date
        app/uninstalled and shop/redact, whose bodies carry no time; else the clock is used."""
        if received_at is None and topic.strip().lower() in parse.TIMED_TOPICS:
            received_at = self.now()
        return parse.parse(topic, body, received_at)

    # -- discounts ----------------------------------------------------------------------------
    def create_discount_code(self, shop: ShopAccess, code: DiscountCode) -> RemoteRef:
        """Create the code; if Shopify says it is taken (our earlier attempt succeeded), return
        the existing one's ref. Other user errors are final: retrying cannot fix the input."""
        try:
            document, variables, field = discounts.create_request(code, self.api_version)
        except ValueError as error:
            raise StoreWriteError(str(error), retryable=False) from None
        payload = self.client.execute(shop, document, variables).get(field) or {}
        errors = payload.get("userErrors") or []
        if any(_is_taken(e) for e in errors):
            return self._existing(shop, code.code)
        if errors or not payload.get("codeDiscountNode"):
            raise StoreWriteError(f"Shopify refused code {code.code}: {_messages(errors)}", retryable=False)
        node = payload["codeDiscountNode"]
        return RemoteRef(remote_id=node["id"], url=discounts.shareable_url(node, shop.domain, code.code))

    def _existing(self, shop: ShopAccess, code: str) -> RemoteRef:
        node = self.client.execute(shop, discounts.BY_CODE, {"code": code}).get("codeDiscountNodeByCode")
        if not node:
            raise StoreWriteError(f"code {code} is taken but cannot be found", retryable=True)
        return RemoteRef(remote_id=node["id"], url=discounts.shareable_url(node, shop.domain, code))

    def delete_discount_code(self, shop: ShopAccess, remote: RemoteRef) -> None:
        """Delete; an id Shopify no longer knows is already the wanted state."""
        data = self.client.execute(shop, discounts.DELETE, {"id": remote.remote_id})
        errors = (data.get("discountCodeDelete") or {}).get("userErrors") or []
        if errors and not all(_is_not_found(e) for e in errors):
            raise StoreWriteError(f"Shopify refused to delete {remote.remote_id}: {_messages(errors)}", retryable=False)

    # -- customers ----------------------------------------------------------------------------
    def tag_customer(self, shop: ShopAccess, tags: CustomerTags) -> None:
        customer = discounts.gid("Customer", tags.customer_id)
        for document, field, values in ((TAGS_ADD, "tagsAdd", tags.add), (TAGS_REMOVE, "tagsRemove", tags.remove)):
            if not values:
                continue
            data = self.client.execute(shop, document, {"id": customer, "tags": list(values)})
            errors = (data.get(field) or {}).get("userErrors") or []
            if errors:
                raise StoreWriteError(f"Shopify refused {field} on {customer}: {_messages(errors)}", retryable=False)

    # -- orders -------------------------------------------------------------------------------
    def orders_since(self, shop: ShopAccess, since: datetime) -> Iterator[Sequence[StoreEvent]]:
        """Every order updated after `since`, oldest first, one event list per order."""
        query = orders.search_since(since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        after: str | None = None
        while True:
            page = self.client.execute(shop, orders.LIST_ORDERS, {"query": query, "after": after}).get("orders") or {}
            for node in page.get("nodes") or []:
                yield self._order_events(shop, node["id"])
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

    def _order_events(self, shop: ShopAccess, order_gid: str) -> list[StoreEvent]:
        order = self.client.execute(shop, orders.ORDER_DETAIL, {"id": order_gid}).get("order")
        if not order:
            return []
        return orders.order_events(order)

    def find_order(self, shop: ShopAccess, order_number: str, email: str) -> OrderPaid | None:
        """The paid order with that name (`#1001` or `1001`) whose email matches, else None.
        An order whose email Shopify redacts (protected customer data) cannot be claimed."""
        wanted = order_number.strip().lstrip("#")
        data = self.client.execute(shop, orders.FIND_ORDERS, {"query": orders.search_name(order_number)})
        for node in (data.get("orders") or {}).get("nodes") or []:
            if (node.get("name") or "").lstrip("#") != wanted:
                continue
            for event in self._order_events(shop, node["id"]):
                if isinstance(event, OrderPaid) and _same_email(event.customer.email, email):
                    return event
        return None

    # -- install ------------------------------------------------------------------------------
    def subscribe_webhooks(self, shop: ShopAccess, callback_url: str) -> dict[str, str]:
        """Create the shop-specific subscriptions; {topic: "created" | "exists"}. Idempotent.
        (TOML subscriptions are preferred; this is for custom apps installed by token.)"""
        address = "uri" if discounts.uses_context(self.api_version) else "callbackUrl"
        result: dict[str, str] = {}
        for topic in WEBHOOK_TOPICS:
            variables: dict[str, Any] = {"topic": topic, "webhookSubscription": {address: callback_url, "format": "JSON"}}
            payload = self.client.execute(shop, SUBSCRIBE, variables).get("webhookSubscriptionCreate") or {}
            errors = payload.get("userErrors") or []
            if errors and all(_is_taken(e) for e in errors):
                result[topic] = "exists"
            elif errors:
                raise StoreWriteError(f"Shopify refused webhook {topic}: {_messages(errors)}", retryable=False)
            else:
                result[topic] = "created"
        return result


def _is_taken(error: Mapping[str, Any]) -> bool:
    message = str(error.get("message", "")).lower()
    return error.get("code") == "TAKEN" or "taken" in message or "already exists" in message or "must be unique" in message


def _is_not_found(error: Mapping[str, Any]) -> bool:
    message = str(error.get("message", "")).lower()
    return any(hint in message for hint in NOT_FOUND_HINTS)


def _same_email(known: str | None, given: str) -> bool:
    return bool(known) and known.strip().lower() == given.strip().lower()


def _messages(errors: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(str(e.get("message", "")) for e in errors) or "no node returned"
