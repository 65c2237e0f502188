"""GraphQL Admin API transport: one POST, retried as Shopify's rate limits ask.

Waits are computed, never guessed: a THROTTLED answer (HTTP 200 or 429) waits until the bucket
holds the query's cost again, `(requested - available) / restoreRate`; a 429 with `Retry-After`
honours it; 5xx and network errors back off exponentially (1, 2, 4 … s). `sleep` is injected so
tests assert the exact waits and nothing really sleeps.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from integration.ports import ShopAccess, StoreAuthError, StoreWriteError

CostObserver = Callable[[str, Mapping[str, Any], bool, float], None]
"""`(shop domain, throttleStatus or {}, throttled, seconds to wait)`: the composition root
passes one that counts throttling and keeps the workers' shared budget in step with the store."""

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RETRYABLE_CODES = frozenset({"THROTTLED", "INTERNAL_SERVER_ERROR"})
MAX_BACKOFF = 60.0


class GraphQLClient:
    """POSTs documents to `{admin_url}/admin/api/{version}/graphql.json` for one shop at a time."""

    def __init__(
        self,
        admin_url: str,
        api_version: str,
        *,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        session: requests.Session | None = None,
        on_cost: CostObserver | None = None,
    ):
        self.admin_url = admin_url
        self.on_cost = on_cost  # told each answer's throttleStatus, and every throttled wait
        self.api_version = api_version
        self.timeout = timeout
        self.sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self.session = session or requests.Session()

    def endpoint(self, shop: ShopAccess) -> str:
        base = self.admin_url.format(shop=shop.domain).rstrip("/")
        return f"{base}/admin/api/{self.api_version}/graphql.json"

    def execute(self, shop: ShopAccess, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`data` of a successful answer. Raises StoreAuthError (401/403), or StoreWriteError:
        retryable=True with the last wait once attempts run out, False for a rejected document."""
        token = shop.credentials.get("access_token", "")
        headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json", "Accept": "application/json"}
        payload = {"query": document, "variables": variables or {}}
        wait = 0.0
        for attempt in range(1, self.max_attempts + 1):
            outcome = self._attempt(shop, payload, headers, attempt)
            if isinstance(outcome, dict):
                return outcome
            wait = outcome
            if attempt < self.max_attempts:
                self.sleep(wait)
        raise StoreWriteError(
            f"Shopify {shop.domain}: still failing after {self.max_attempts} attempts", retryable=True, retry_after=wait
        )

    def _attempt(self, shop: ShopAccess, payload: dict, headers: dict, attempt: int) -> dict[str, Any] | float:
        """`data`, or the seconds to wait before the next attempt."""
        try:
            response = self.session.post(self.endpoint(shop), json=payload, headers=headers, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout):
            return backoff(attempt)
        if response.status_code in (401, 403):
            raise StoreAuthError(f"Shopify {shop.domain} refused the access token (HTTP {response.status_code})")
        body = _json(response)
        self._report(shop, response, body, attempt)
        if response.status_code in RETRYABLE_STATUS:
            return retry_after(response) or throttle_wait(body) or backoff(attempt)
        if response.status_code >= 400 or body is None:
            raise StoreWriteError(f"Shopify {shop.domain}: HTTP {response.status_code}", retryable=False)
        errors = body.get("errors")
        if errors:
            codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
            if codes & RETRYABLE_CODES:
                return throttle_wait(body) or backoff(attempt)
            if "ACCESS_DENIED" in codes:
                raise StoreWriteError(f"Shopify {shop.domain}: access denied (missing scope?): {_messages(errors)}", retryable=False)
            raise StoreWriteError(f"Shopify {shop.domain} rejected the request: {_messages(errors)}", retryable=False)
        return body.get("data") or {}

    def _report(self, shop: ShopAccess, response: requests.Response, body: dict | None, attempt: int) -> None:
        """Tell `on_cost` what this answer says about the shop's bucket (never raises into the call)."""
        if self.on_cost is None:
            return
        cost = ((body or {}).get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") if isinstance(cost, dict) else None
        throttled = response.status_code == 429 or _is_throttled(body)
        wait = (retry_after(response) or throttle_wait(body) or backoff(attempt)) if throttled else 0.0
        if status or throttled:
            self.on_cost(shop.domain, status if isinstance(status, dict) else {}, throttled, wait)


def _is_throttled(body: dict | None) -> bool:
    errors = (body or {}).get("errors")
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


def backoff(attempt: int) -> float:
    return min(MAX_BACKOFF, float(2 ** (attempt - 1)))


def throttle_wait(body: dict | None) -> float | None:
    """Seconds until the leaky bucket again holds the query's requested cost."""
    if not body or not any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in body.get("errors") or [] if isinstance(e, dict)):
        return None
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        return max(missing, 0.0) / float(status["restoreRate"]) or None
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def retry_after(response: requests.Response) -> float | None:
    try:
        value = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _json(response: requests.Response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _messages(errors: list) -> str:
    return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:500]
