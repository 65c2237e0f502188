"""A small WooCommerce REST v3 client on `requests.Session`: auth, timeouts, retries, pages.

Why not the official `woocommerce.API` (3.0.0, unmaintained since 2021): it opens no session, never
retries, has no pagination helper, and over http (OAuth 1.0a) sends every query parameter twice;
its `oauth_timestamp` option crashes `requests`. This client keeps its conventions instead:
`{store}/wp-json/wc/v3/<endpoint>`, HTTP Basic over https, OAuth 1.0a query signing over http.

Errors follow the port: network errors, 429 and 5xx are retried with backoff (sleeping through
the injected `sleep`), then raise `StoreWriteError(retryable=True)`; 401/403 raise
`StoreAuthError`; any other 4xx raises `WooRequestError(retryable=False)` carrying WooCommerce's
error `code`, so callers can recognise e.g. `woocommerce_rest_coupon_code_already_exists`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from adapters.woocommerce import oauth
from integration.ports import StoreAuthError, StoreWriteError

API_PREFIX = "/wp-json/wc/v3/"
USER_AGENT = "loyalty-bridge/0.1 (WooCommerce REST client)"  # hosts' WAFs block library defaults
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 120.0
log = logging.getLogger(__name__)


class WooRequestError(StoreWriteError):
    """A 4xx answer other than 401/403; `code` is WooCommerce's error code ("" if none)."""

    def __init__(self, message: str, *, status: int, code: str):
        super().__init__(message, retryable=False)
        self.status = status
        self.code = code


def normalize_store_url(url: str) -> str:
    """`https://shop.example` form: scheme kept (http is allowed, for OAuth stores and tests),
    no trailing slash; a bare host gets https. WordPress may live in a sub-folder, kept too."""
    url = (url or "").strip().rstrip("/")
    if not url:
        raise ValueError("empty store URL")
    if "://" not in url:
        url = f"https://{url}"
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"store URL must be http(s): {url}")
    return url


class WooClient:
    """One store's REST API. Holds credentials: never log it or its requests' URLs."""

    def __init__(self, store_url: str, consumer_key: str, consumer_secret: str, *,
                 session: requests.Session, timeout: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 4,
                 verify_tls: bool = True, clock: Callable[[], float] = time.time):
        self.base_url = normalize_store_url(store_url)
        self._key, self._secret = consumer_key, consumer_secret
        self._session, self._timeout, self._sleep = session, timeout, sleep
        self._max_attempts, self._verify_tls, self._clock = max(1, max_attempts), verify_tls, clock

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json(self.call("GET", endpoint, params=params), endpoint)

    def post(self, endpoint: str, body: Mapping[str, Any]) -> Any:
        return _json(self.call("POST", endpoint, body=body), endpoint)

    def put(self, endpoint: str, body: Mapping[str, Any]) -> Any:
        return _json(self.call("PUT", endpoint, body=body), endpoint)

    def delete(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json(self.call("DELETE", endpoint, params=params), endpoint)

    def pages(self, endpoint: str, params: Mapping[str, Any]) -> Iterator[list[Any]]:
        """Every page of a list endpoint, walking `X-WP-TotalPages` (or, without it, until a short page)."""
        per_page = int(params.get("per_page", 10))
        page = 1
        while True:
            response = self.call("GET", endpoint, params={**params, "page": page})
            items = _json(response, endpoint)
            if not isinstance(items, list):
                raise StoreWriteError(f"{endpoint}: expected a list", retryable=False)
            yield items
            total_pages = _int_header(response, "X-WP-TotalPages")
            done = page >= total_pages if total_pages is not None else len(items) < per_page
            if done or not items:
                return
            page += 1

    def call(self, method: str, endpoint: str, *, params: Mapping[str, Any] | None = None,
             body: Mapping[str, Any] | None = None) -> requests.Response:
        """One logical call, retried on network errors, 429 and 5xx; raises on any failure."""
        failure = StoreWriteError(f"{method} {endpoint}: not attempted", retryable=True)
        for attempt in range(1, self._max_attempts + 1):
            outcome = self._attempt(method, endpoint, params or {}, body)
            if isinstance(outcome, requests.Response):
                return outcome
            failure = outcome
            log.warning("woocommerce %s %s attempt %d/%d failed: %s", method, endpoint, attempt,
                        self._max_attempts, failure)
            if not failure.retryable:
                raise failure
            if attempt < self._max_attempts:
                self._sleep(_delay(attempt, failure.retry_after))
        raise failure

    def _attempt(self, method: str, endpoint: str, params: Mapping[str, Any],
                 body: Mapping[str, Any] | None) -> requests.Response | StoreWriteError:
        url = self.base_url + API_PREFIX + endpoint.lstrip("/")
        query, auth = self._authenticate(method, url, params)
        try:
            response = self._session.request(
                method, url, params=query, json=body, auth=auth, timeout=self._timeout,
                verify=self._verify_tls, allow_redirects=False,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            return StoreWriteError(f"{method} {endpoint}: network error {type(error).__name__}", retryable=True)
        if 200 <= response.status_code < 300:
            return response
        return error_for(response, f"{method} {endpoint}")

    def _authenticate(self, method: str, url: str, params: Mapping[str, Any]) -> tuple[dict[str, str], Any]:
        """Basic auth over https; OAuth 1.0a query signature (fresh nonce per attempt) over http."""
        plain = {key: oauth.php_string(value) for key, value in params.items()}
        if url.startswith("https://"):
            return plain, (self._key, self._secret)
        signed = oauth.signed_params(method, url, plain, consumer_key=self._key,
                                     consumer_secret=self._secret, timestamp=int(self._clock()))
        return signed, None


def error_for(response: requests.Response, what: str) -> StoreWriteError:
    """The port's error for a non-2xx answer (see the module docstring)."""
    status = response.status_code
    code = _error_code(response)
    message = f"{what}: HTTP {status}" + (f" {code}" if code else "")
    if status in (401, 403):
        return StoreAuthError(message)
    if status == 429 or status >= 500:
        return StoreWriteError(message, retryable=True, retry_after=_retry_after(response))
    if 300 <= status < 400:
        return WooRequestError(f"{message}: redirected, check the store URL (http/https, www)",
                               status=status, code=code)
    return WooRequestError(message, status=status, code=code)


def remote_id(resource: Any, what: str) -> str:
    """The `id` of a resource the store returned, as a string; a store answer without one is an error."""
    value = resource.get("id") if isinstance(resource, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise StoreWriteError(f"{what}: the store's answer has no id", retryable=False)
    return str(value)


def _error_code(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return ""
    return str(payload.get("code") or "") if isinstance(payload, dict) else ""


def _json(response: requests.Response, endpoint: str) -> Any:
    try:
        return response.json()
    except ValueError:
        # Typically plain permalinks (no /wp-json/) or a security plugin's HTML page.
        raise StoreWriteError(f"{endpoint}: the store did not answer JSON", retryable=False) from None


def _delay(attempt: int, retry_after: float | None) -> float:
    """0.5 s, 1 s, 2 s, ... capped; never shorter than an announced Retry-After (itself capped)."""
    backoff = min(0.5 * 2 ** (attempt - 1), MAX_BACKOFF)
    return max(backoff, min(retry_after, MAX_RETRY_AFTER)) if retry_after else backoff


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _int_header(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers.get(name, ""))
    except ValueError:
        return None
