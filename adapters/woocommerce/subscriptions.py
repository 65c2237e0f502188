"""Our webhooks in a store: create them, check them, repair them.

WooCommerce never retries a delivery and flips a webhook to `disabled` after a handful of
consecutive failures; re-activating it does not reset its failure counter, so a disabled webhook
is deleted and created again (fresh counter, new id) while a paused one is simply re-activated.
Our webhooks are the ones whose `delivery_url` is ours. We always send our own secret: WooCommerce
never returns it, and its default is a random 50-character password.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from adapters.woocommerce.client import WooClient, remote_id

# customer.updated would also carry email / name changes; add it here if the core wants them.
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored", "customer.created")
NAME_PREFIX = "loyalty-bridge"


class WebhookState(NamedTuple):
    """(topic, status, id): status is WooCommerce's (active/paused/disabled) or "missing";
    in what `repair_webhooks` returns it is the action taken (created/recreated/reactivated)."""

    topic: str
    status: str
    webhook_id: str | None


def list_webhooks(client: WooClient) -> list[Mapping[str, Any]]:
    """Every webhook of the store, all pages (the store may have many of other apps')."""
    hooks: list[Mapping[str, Any]] = []
    for page in client.pages("webhooks", {"per_page": 100, "status": "all"}):
        hooks.extend(hook for hook in page if isinstance(hook, Mapping))
    return hooks


def ours_by_topic(hooks: list[Mapping[str, Any]], delivery_url: str | None) -> dict[str, Mapping[str, Any]]:
    """Our webhook per topic (by delivery URL, or by name when no URL is given); an active one
    wins over others, then the newest."""
    def mine(hook: Mapping[str, Any]) -> bool:
        if delivery_url is not None:
            return _same_url(str(hook.get("delivery_url", "")), delivery_url)
        return str(hook.get("name", "")).startswith(NAME_PREFIX)

    ranked = sorted((hook for hook in hooks if mine(hook)),
                    key=lambda hook: (hook.get("status") == "active", int(hook.get("id") or 0)))
    return {str(hook.get("topic", "")).lower(): hook for hook in ranked}


def create_webhooks(client: WooClient, delivery_url: str, secret: str) -> list[str]:
    """Ids of our webhooks for every topic, created or re-used (idempotent: a reconnect does not
    double them). Re-used ones get `secret` again, since we cannot read the one they have."""
    existing = ours_by_topic(list_webhooks(client), delivery_url)
    states = [_ensure(client, topic, existing.get(topic), delivery_url, secret, rotate_secret=True)
              for topic in TOPICS]
    return [str(state.webhook_id) for state in states]


def webhook_health(client: WooClient, delivery_url: str | None = None) -> list[WebhookState]:
    """(topic, status, id) for each of our topics; "missing" when the store has none."""
    existing = ours_by_topic(list_webhooks(client), delivery_url)
    return [WebhookState(topic, str(existing[topic].get("status", "")), str(existing[topic].get("id")))
            if topic in existing else WebhookState(topic, "missing", None) for topic in TOPICS]


def repair_webhooks(client: WooClient, delivery_url: str, secret: str) -> list[WebhookState]:
    """Re-create missing and disabled webhooks, re-activate paused ones; returns what changed."""
    existing = ours_by_topic(list_webhooks(client), delivery_url)
    changes = [_ensure(client, topic, existing.get(topic), delivery_url, secret, rotate_secret=False)
               for topic in TOPICS]
    return [change for change in changes if change.status != "unchanged"]


def _ensure(client: WooClient, topic: str, hook: Mapping[str, Any] | None, delivery_url: str,
            secret: str, *, rotate_secret: bool) -> WebhookState:
    if hook is None:
        return WebhookState(topic, "created", _create(client, topic, delivery_url, secret))
    hook_id = str(hook.get("id"))
    status = str(hook.get("status", ""))
    if status == "disabled":
        client.delete(f"webhooks/{hook_id}", {"force": "true"})
        return WebhookState(topic, "recreated", _create(client, topic, delivery_url, secret))
    if status != "active":
        client.put(f"webhooks/{hook_id}", {"status": "active", "secret": secret})
        return WebhookState(topic, "reactivated", hook_id)
    if rotate_secret:
        client.put(f"webhooks/{hook_id}", {"secret": secret})
        return WebhookState(topic, "updated", hook_id)
    return WebhookState(topic, "unchanged", hook_id)


def _create(client: WooClient, topic: str, delivery_url: str, secret: str) -> str:
    """POST /webhooks. WooCommerce pings `delivery_url` before answering: the ingest must be up."""
    created = client.post("webhooks", {"name": f"{NAME_PREFIX} {topic}", "topic": topic,
                                       "delivery_url": delivery_url, "secret": secret})
    return remote_id(created, f"create webhook {topic}")


def _same_url(left: str, right: str) -> bool:
    return left.strip().rstrip("/") == right.strip().rstrip("/")
