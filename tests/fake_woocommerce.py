"""A local fake WooCommerce store: a real HTTP server on 127.0.0.1 speaking the REST v3 subset the
adapter uses, and delivering webhooks itself, signed, as WooCommerce does.

- Auth as in class-wc-rest-authentication.php: OAuth 1.0a one-legged query signature (the store is
  plain http, so `is_ssl()` is false and Basic auth is not even tried), or HTTP Basic when the
  store is told it sits behind TLS (`is_ssl=True`). Unknown keys, bad signatures, a stale
  timestamp or a reused nonce get 401 `woocommerce_rest_authentication_error`.
- Every request body is validated against `tests/woocommerce_contract`; a body that breaks the
  contract (or a write with no contract) is answered 400 and recorded in `contract_errors`, which
  the `running_store` context manager asserts empty at the end, so a breach fails the test.
- Webhooks: creation pings the delivery URL synchronously (`webhook_id=<id>`, unsigned; the real
  store refuses loopback URLs, this one does not); an order change is POSTed to every active
  webhook of its topic, signed with that webhook's secret; more than 5 consecutive failures
  disable a webhook; nothing is retried.
- The "site" runs on UTC, so local and GMT dates are the same.

Deliveries are sent from the thread that changed the order, after the store's lock is released,
so a test knows a delivery has been answered when `mark_paid` & co. return.
"""
from __future__ import annotations

import pytest

import base64
import copy
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests import woocommerce_contract as contract

PREFIX = "/wp-json/wc/v3/"
MAX_DELIVERY_FAILURES = 5  # woocommerce_max_webhook_delivery_failures
TOPIC_RESOURCES = {"order", "customer", "coupon", "product"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(message or code)
        self.status, self.code, self.message = status, code, message or code.replace("_", " ")


@dataclass
class Delivery:
    """One webhook delivery (or ping) the store sent, and how it was answered (0: no answer)."""

    webhook_id: int
    topic: str
    url: str
    body: bytes
    status: int
    ping: bool = False


@dataclass
class Logged:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    status: int


def rfc3986(value: str) -> str:
    return quote(value, safe="")


def wc_signature(secret: str, body: bytes) -> str:
    """`X-WC-Webhook-Signature` for an alphanumeric secret (no wp_specialchars_decode needed)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _now_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


@dataclass
class FakeWooStore:
    """State of the store; `url` is set once the server runs (see `running_store`)."""

    is_ssl: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    url: str = ""
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # ck -> {secret, permissions, key_id}
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)  # with "secret", "failure_count"
    coupons: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    requests_log: list[Logged] = field(default_factory=list)
    contract_errors: list[str] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)  # public base URL -> loopback base (a "tunnel")
    fail_next: dict[tuple[str, str], int] = field(default_factory=dict)  # (METHOD, endpoint) -> 500s to give

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(100)
        self._nonces: set[str] = set()
        self._session = requests.Session()

    # -- merchant-side helpers ----------------------------------------------------------------
    def add_keys(self, permissions: str = "read_write") -> tuple[str, str]:
        """A REST key pair, as the merchant creates under Advanced > REST API."""
        consumer_key, consumer_secret = "ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20)
        with self._lock:
            self.keys[consumer_key] = {"secret": consumer_secret, "permissions": permissions,
                                       "key_id": next(self._ids)}
        return consumer_key, consumer_secret

    def add_customer(self, email: str, first_name: str = "Ada", last_name: str = "Lovelace") -> int:
        customer = copy.deepcopy(contract.fixture("customer_retrieved.v3.json"))
        with self._lock:
            customer_id = next(self._ids)
            customer.update(id=customer_id, email=email, first_name=first_name, last_name=last_name,
                            meta_data=[], date_created_gmt=_now_text(self.clock()),
                            date_modified_gmt=_now_text(self.clock()))
            customer["billing"] = {**customer.get("billing", {}), "email": email,
                                   "first_name": first_name, "last_name": last_name}
            self.customers[customer_id] = customer
        return customer_id

    def place_order(self, customer_id: int, email: str, amount: str, *, status: str = "pending",
                    shipping: str = "0.00") -> int:
        """A new order (one line of `amount`, no tax); `order.created` is delivered."""
        now = self.clock()
        order = copy.deepcopy(contract.fixture("order_created_paid.v3.json"))
        with self._lock:
            order_id = next(self._ids)
            line = {**order["line_items"][0], "id": next(self._ids), "quantity": 1, "subtotal": amount,
                    "subtotal_tax": "0.00", "total": amount, "total_tax": "0.00", "taxes": [],
                    "price": float(amount)}
            total = Decimal(amount) + Decimal(shipping)
            order.update(
                id=order_id, number=str(order_id), order_key=f"wc_order_{secrets.token_hex(6)}", status=status,
                customer_id=customer_id, line_items=[line], tax_lines=[], total=_money(total),
                total_tax="0.00", cart_tax="0.00", shipping_total=shipping, shipping_tax="0.00",
                shipping_lines=[], refunds=[], date_created=_now_text(now), date_created_gmt=_now_text(now),
                date_modified=_now_text(now), date_modified_gmt=_now_text(now), date_paid=None,
                date_paid_gmt=None, date_completed=None, date_completed_gmt=None,
                _links={"self": [{"href": f"{self.url}{PREFIX}orders/{order_id}"}],
                        "collection": [{"href": f"{self.url}{PREFIX}orders"}]},
            )
            order["billing"] = {**order["billing"], "email": email}
            order["shipping"] = {**order["shipping"], "address_1": f"{customer_id or email} Market"}  # their own
            self._check_order(order)
            self.orders[order_id] = order
            sends = self._deliveries_for("order.created", order)
        self._send(sends)
        return order_id

    def set_status(self, order_id: int, status: str) -> None:
        """processing/completed set `date_paid` once (maybe_set_date_paid); `order.updated` follows."""
        self._change(order_id, lambda order, now: self._apply_status(order, status, now))

    def refund(self, order_id: int, amount: str, reason: str = "") -> int:
        """A refund of `amount` (gross); a refund of everything left makes the order `refunded`."""
        refund_id = next(self._ids)

        def apply(order: dict[str, Any], now: datetime) -> None:
            order["refunds"].append({"id": refund_id, "reason": reason, "total": f"-{Decimal(amount):.2f}"})
            refunded = sum(-Decimal(item["total"]) for item in order["refunds"])
            if refunded >= Decimal(order["total"]):
                order["status"] = "refunded"
        self._change(order_id, apply)
        return refund_id

    def set_webhook_status(self, status: str, topic: str | None = None) -> None:
        """E.g. "disabled", as WooCommerce does after too many failed deliveries."""
        with self._lock:
            for hook in self.webhooks.values():
                if topic is None or hook["topic"] == topic:
                    hook["status"] = status

    def route(self, public_base: str, local_base: str) -> None:
        """Deliver to `local_base` what is addressed to `public_base` (an https tunnel stand-in)."""
        self.routes[public_base.rstrip("/")] = local_base.rstrip("/")

    def coupon_by_code(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            return next((c for c in self.coupons.values() if c["code"] == code.lower()), None)

    def authorize(self, location: str) -> str:
        """The merchant approves the app at `location` (a /wc-auth/v1/authorize URL): a key is made,
        POSTed as JSON to callback_url, deleted unless the answer is exactly 200 (as
        class-wc-auth.php does); the URL the browser is sent to next is returned."""
        parts = urlsplit(location)
        assert parts.path == "/wc-auth/v1/authorize", parts.path
        query = dict(parse_qsl(parts.query))
        missing = {"app_name", "scope", "user_id", "return_url", "callback_url"} - set(query)
        assert not missing, f"authorize URL lacks {missing}"
        assert query["scope"] in ("read", "write", "read_write")
        assert query["callback_url"].startswith("https://"), "The callback_url needs to be over SSL"
        consumer_key, consumer_secret = self.add_keys(query["scope"])
        key_id = self.keys[consumer_key]["key_id"]
        body = json.dumps({"key_id": key_id, "user_id": query["user_id"], "consumer_key": consumer_key,
                           "consumer_secret": consumer_secret, "key_permissions": query["scope"]})
        try:
            answer = self._session.post(self._routed(query["callback_url"]), data=body, timeout=60,
                                        headers={"Content-Type": "application/json;charset=UTF-8"})
            status = answer.status_code
        except requests.RequestException:
            status = 0
        if status != 200:
            with self._lock:
                self.keys.pop(consumer_key, None)
            return ""
        return query["return_url"] + "?" + urlencode({"success": 1, "user_id": query["user_id"]})

    # -- order changes and deliveries ---------------------------------------------------------
    def _change(self, order_id: int, apply: Callable[[dict[str, Any], datetime], None]) -> None:
        with self._lock:
            order = self.orders[order_id]
            now = self.clock()
            apply(order, now)
            order["date_modified"] = order["date_modified_gmt"] = _now_text(now)
            self._check_order(order)
            sends = self._deliveries_for("order.updated", order)
        self._send(sends)

    @staticmethod
    def _apply_status(order: dict[str, Any], status: str, now: datetime) -> None:
        order["status"] = status
        if status in ("processing", "completed") and not order.get("date_paid_gmt"):
            order["date_paid"] = order["date_paid_gmt"] = _now_text(now)
        if status == "completed":
            order["date_completed"] = order["date_completed_gmt"] = _now_text(now)

    def _check_order(self, order: dict[str, Any]) -> None:
        try:
            contract.assert_valid_order(order)
        except AssertionError as error:
            self.contract_errors.append(f"the fake built an invalid order: {error}")

    def _deliveries_for(self, topic: str, resource: dict[str, Any]) -> list[tuple[dict[str, Any], bytes]]:
        body = json.dumps(resource, separators=(",", ":")).encode()
        return [(hook, body) for hook in self.webhooks.values()
                if hook["topic"] == topic and hook["status"] == "active"]

    def _send(self, sends: list[tuple[dict[str, Any], bytes]]) -> None:
        for hook, body in sends:
            resource, _, event = hook["topic"].partition(".")
            headers = {
                "User-Agent": "WooCommerce/9.9.0 Hookshot (WordPress/6.8)", "Content-Type": "application/json",
                "X-WC-Webhook-Source": self.url + "/", "X-WC-Webhook-Topic": hook["topic"],
                "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": wc_signature(hook["secret"], body),
                "X-WC-Webhook-ID": str(hook["id"]),
                "X-WC-Webhook-Delivery-ID": hashlib.md5(f"{hook['id']}{int(time.time())}".encode()).hexdigest(),
            }
            status = self._post(hook["delivery_url"], body, headers)
            with self._lock:
                self.deliveries.append(Delivery(hook["id"], hook["topic"], hook["delivery_url"], body, status))
                if 200 <= status < 303:
                    hook["failure_count"] = 0
                elif hook["failure_count"] > MAX_DELIVERY_FAILURES:
                    hook["status"] = "disabled"
                else:
                    hook["failure_count"] += 1

    def _ping(self, hook: dict[str, Any]) -> None:
        body = f"webhook_id={hook['id']}".encode()
        status = self._post(hook["delivery_url"], body, {
            "User-Agent": "WooCommerce/9.9.0 Hookshot (WordPress/6.8)",
            "Content-Type": "application/x-www-form-urlencoded"})
        with self._lock:
            self.deliveries.append(Delivery(hook["id"], hook["topic"], hook["delivery_url"], body, status, ping=True))

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            return self._session.post(self._routed(url), data=body, headers=headers, timeout=10,
                                      allow_redirects=False).status_code
        except requests.RequestException:
            return 0

    def _routed(self, url: str) -> str:
        for public, local in self.routes.items():
            if url == public or url.startswith(public + "/"):
                return local + url[len(public):]
        return url

    # -- the HTTP server ----------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        params = dict(request.args.items())
        raw = request.get_data()
        body: Any = None
        pings: list[dict[str, Any]] = []
        try:
            if not request.path.startswith(PREFIX):
                raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
            endpoint = request.path[len(PREFIX):].strip("/")
            self._authenticate(request, params)
            if raw:
                body = self._checked_body(request, endpoint, raw)
            with self._lock:
                status, payload, headers = self._handle(request.method, endpoint, params, body, pings)
        except ApiError as error:
            status, payload, headers = error.status, {"code": error.code, "message": error.message,
                                                      "data": {"status": error.status}}, {}
        for hook in pings:  # WooCommerce pings before it answers the POST; outside the lock
            self._ping(hook)
        with self._lock:
            self.requests_log.append(Logged(request.method, request.path, params, body, status))
        response = Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")
        return response(environ, start_response)

    def _checked_body(self, request: Request, endpoint: str, raw: bytes) -> Any:
        path = PREFIX + endpoint
        rule = next((check for method, pattern, check in contract._BODY_RULES
                     if method == request.method and pattern.search(path)), None)
        try:
            assert rule is not None, f"no contract for {request.method} {path}"
            assert (request.content_type or "").startswith("application/json"), "body is not JSON"
            body = json.loads(raw)
            rule(body)
        except (AssertionError, ValueError) as error:
            self.contract_errors.append(f"{request.method} {path}: {error}")
            raise ApiError(400, "rest_invalid_param", str(error)) from None
        return body

    def _authenticate(self, request: Request, params: dict[str, str]) -> None:
        key, given_secret = params.get("consumer_key"), params.get("consumer_secret")
        if key is None and self.is_ssl and request.authorization is not None:
            key, given_secret = request.authorization.username, request.authorization.password
        if key is not None and self.is_ssl:
            stored = self.keys.get(key)
            if stored is None:
                raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
            if not hmac.compare_digest(stored["secret"], given_secret or ""):
                raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        elif "oauth_signature" in params:
            stored = self._check_oauth(request, params)
        else:
            raise ApiError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        for name in list(params):
            if name.startswith("oauth_") or name in ("consumer_key", "consumer_secret"):
                del params[name]
        needed = "read" if request.method in ("GET", "HEAD") else "write"
        if stored["permissions"] not in (needed, "read_write"):
            raise ApiError(401, "woocommerce_rest_authentication_error",
                           f"The API key provided does not have {needed} permissions.")

    def _check_oauth(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        """check_oauth_signature(), check_oauth_timestamp_and_nonce() of WooCommerce."""
        required = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature",
                    "oauth_signature_method")
        missing = [name for name in required if not params.get(name)]
        if missing:
            raise ApiError(401, "woocommerce_rest_authentication_missing_parameter",
                           "Missing OAuth parameter(s) " + ", ".join(missing))
        stored = self.keys.get(params["oauth_consumer_key"])
        if stored is None:
            raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        algorithm = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}.get(params["oauth_signature_method"])
        if algorithm is None:
            raise ApiError(401, "woocommerce_rest_authentication_error",
                           "Invalid signature - signature method is invalid.")
        signed = {k: v for k, v in params.items() if k != "oauth_signature"}
        pairs = [rfc3986(f"{rfc3986(k)}={rfc3986(signed[k])}") for k in sorted(signed)]
        base = "&".join((request.method, rfc3986(f"http://{request.host}{request.path}"), "%26".join(pairs)))
        expected = base64.b64encode(hmac.new(f"{stored['secret']}&".encode(), base.encode(), algorithm).digest())
        if not hmac.compare_digest(expected.decode(), params["oauth_signature"].replace(" ", "+")):
            raise ApiError(401, "woocommerce_rest_authentication_error",
                           "Invalid signature - provided signature does not match.")
        if abs(time.time() - int(params["oauth_timestamp"])) > 15 * 60:
            raise ApiError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        nonce = f"{params['oauth_consumer_key']}:{params['oauth_nonce']}"
        with self._lock:
            if nonce in self._nonces:
                raise ApiError(401, "woocommerce_rest_authentication_error",
                               "Invalid nonce - nonce has already been used.")
            self._nonces.add(nonce)
        return stored

    def _handle(self, method: str, endpoint: str, params: dict[str, str], body: Any,
                pings: list[dict[str, Any]]) -> tuple[int, Any, dict[str, str]]:
        resource, _, item = endpoint.partition("/")
        failures = self.fail_next.get((method, resource), 0)
        if failures:
            self.fail_next[(method, resource)] = failures - 1
            raise ApiError(500, "internal_server_error", "There has been a critical error on this website.")
        handler = getattr(self, f"_{method.lower()}_{resource}{'_item' if item else ''}", None)
        if handler is None:
            raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
        if item:
            if not item.isdigit():
                raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
            return handler(int(item), params, body) if method in ("PUT", "DELETE") else handler(int(item), params)
        if method == "POST":
            return handler(body, pings)
        return handler(params)

    # webhooks
    def _public_hook(self, hook: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}

    def _get_webhooks(self, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        status = params.get("status", "all")
        hooks = [self._public_hook(h) for h in sorted(self.webhooks.values(), key=lambda h: -h["id"])
                 if status == "all" or h["status"] == status]
        return self._page(hooks, params)

    def _post_webhooks(self, body: dict[str, Any], pings: list[dict[str, Any]]) -> tuple[int, Any, dict[str, str]]:
        resource, _, event = body["topic"].partition(".")
        now = _now_text(self.clock())
        hook_id = next(self._ids)
        hook = {
            **contract.fixture("webhook_created.v3.json"), "id": hook_id,
            "name": body.get("name") or f"Webhook created on {now}", "status": "active",
            "topic": body["topic"], "resource": resource, "event": event, "hooks": [],
            "delivery_url": body["delivery_url"], "date_created": now, "date_created_gmt": now,
            "date_modified": now, "date_modified_gmt": now,
            "secret": body.get("secret") or secrets.token_urlsafe(37), "failure_count": 0,
        }
        self.webhooks[hook_id] = hook
        pings.append(hook)
        return 201, self._public_hook(hook), {"Location": f"{PREFIX}webhooks/{hook_id}"}

    def _get_webhooks_item(self, hook_id: int, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        return 200, self._public_hook(self._hook(hook_id)), {}

    def _put_webhooks_item(self, hook_id: int, params: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        hook = self._hook(hook_id)
        for name in ("name", "status", "topic", "delivery_url", "secret"):
            if name in (body or {}):
                hook[name] = body[name]
        hook["date_modified"] = hook["date_modified_gmt"] = _now_text(self.clock())
        return 200, self._public_hook(hook), {}

    def _delete_webhooks_item(self, hook_id: int, params: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        if params.get("force") not in ("true", "1"):
            raise ApiError(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
        hook = self._hook(hook_id)
        del self.webhooks[hook_id]
        return 200, self._public_hook(hook), {}

    def _hook(self, hook_id: int) -> dict[str, Any]:
        if hook_id not in self.webhooks:
            raise ApiError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        return self.webhooks[hook_id]

    # coupons
    def _post_coupons(self, body: dict[str, Any], pings: list[dict[str, Any]]) -> tuple[int, Any, dict[str, str]]:
        code = body["code"].strip().lower()  # wc_format_coupon_code
        if any(c["code"] == code for c in self.coupons.values()):
            raise ApiError(400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
        coupon = {**contract.fixture("coupon_created.v3.json"), **body, "id": next(self._ids), "code": code,
                  "usage_count": 0, "used_by": []}
        expires = body.get("date_expires")
        if expires:
            moment = datetime.fromisoformat(expires.replace("Z", "+00:00")).astimezone(UTC)
            coupon["date_expires"] = coupon["date_expires_gmt"] = _now_text(moment)
        coupon["meta_data"] = [{"id": next(self._ids), **item} for item in body.get("meta_data", [])]
        self.coupons[coupon["id"]] = coupon
        return 201, coupon, {}

    def _get_coupons(self, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        code = params.get("code")
        found = [c for c in self.coupons.values() if code is None or c["code"] == code.lower()]
        return self._page(found, params)

    def _delete_coupons_item(self, coupon_id: int, params: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        if coupon_id not in self.coupons:
            raise ApiError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
        return 200, self.coupons.pop(coupon_id), {}

    # orders
    def _get_orders(self, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        found = list(self.orders.values())
        if "modified_after" in params:
            # dates_are_gmt=true compares with *_gmt; the site is on UTC, so both agree here
            after = datetime.fromisoformat(params["modified_after"]).replace(tzinfo=UTC)
            found = [o for o in found if datetime.fromisoformat(o["date_modified_gmt"]).replace(tzinfo=UTC) > after]
        if "search" in params:
            found = [o for o in found if params["search"].lower() in json.dumps(o["billing"]).lower()]
        key = "date_modified_gmt" if params.get("orderby") == "modified" else "date_created_gmt"
        found.sort(key=lambda o: (o[key], o["id"]), reverse=params.get("order", "desc") == "desc")
        return self._page(found, params)

    def _get_orders_item(self, order_id: int, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if order_id not in self.orders:
            raise ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return 200, self.orders[order_id], {}

    # customers
    def _get_customers_item(self, customer_id: int, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if customer_id not in self.customers:
            raise ApiError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        return 200, self.customers[customer_id], {}

    def _put_customers_item(self, customer_id: int, params: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        customer = self._get_customers_item(customer_id, params)[1]
        for item in body.get("meta_data", []):
            customer["meta_data"] = [m for m in customer["meta_data"] if m["key"] != item["key"]]
            customer["meta_data"].append({"id": next(self._ids), **item})
        return 200, customer, {}

    @staticmethod
    def _page(items: list[Any], params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """WP_REST pagination: per_page 1..100 (else 400 rest_invalid_param), page from 1."""
        per_page, page = int(params.get("per_page", 10)), int(params.get("page", 1))
        if not 1 <= per_page <= 100 or page < 1:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        return 200, chunk, {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}

    # -- assertions for tests -----------------------------------------------------------------
    def ours(self, delivery_url: str) -> list[dict[str, Any]]:
        with self._lock:
            return [h for h in self.webhooks.values() if h["delivery_url"] == delivery_url]

    def pings(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.ping]


class _QuietHandler(WSGIRequestHandler):
    """No access log: request lines carry OAuth query parameters, and tests read CLI output."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextmanager
def running_store(**options: Any) -> Iterator[FakeWooStore]:
    """The store on 127.0.0.1:<free port>; on exit, any contract breach fails the test."""
    store = FakeWooStore(**options)
    server = make_server("127.0.0.1", 0, store.wsgi, threaded=True, request_handler=_QuietHandler)
    store.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-woocommerce",
                              daemon=True)
    thread.start()
    try:
        yield store
    finally:
        server.shutdown()
        thread.join(5)
        store._session.close()
    assert store.contract_errors == [], "requests broke the WooCommerce contract:\n" + "\n".join(store.contract_errors)


# -- the service under test, in this process, wired to a fake store ---------------------------

PUBLIC_URL = "https://loyalty.test"  # server.base_url; the fake store "tunnels" it to loopback


@dataclass
class WooService:
    """The real Flask app on a loopback port with the real WooCommerce adapter; the fake store
    delivers what it sends to `PUBLIC_URL` here."""

    runtime: Any
    base_url: str
    store: FakeWooStore
    session: requests.Session

    def work(self) -> int:
        """Drain the inbox, then due store writes, as the worker thread would."""
        from webhooks.inbox import Worker
        count = Worker(self.runtime.db, self.runtime.platforms).drain(self.runtime.clock())
        self.runtime.outbox_runner().run_due(self.runtime.clock())
        return count

    def api(self, method: str, path: str, key: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/api/v1{path}", timeout=10,
                                    headers={"Authorization": f"Bearer {key}"}, **kwargs)


def service_settings(db_url: str, base_url: str = PUBLIC_URL) -> Any:
    from integration.config import build_settings
    return build_settings({"server": {"secret_key": "woo-test-secret", "base_url": base_url},
                           "database": {"url": db_url}, "woocommerce": {"timeout_seconds": 5.0}}, environ={})


@contextmanager
def running_service(db: Any, db_url: str, store: FakeWooStore, base_url: str = PUBLIC_URL) -> Iterator[WooService]:
    from adapters.woocommerce import WooCommercePlatform
    from integration.web.bootstrap import build_runtime, create_app
    platform = WooCommercePlatform(timeout=5.0, sleep=lambda seconds: None)  # retries without waiting
    runtime = build_runtime(service_settings(db_url, base_url), platforms={"woocommerce": platform}, db=db)
    server = make_server("127.0.0.1", 0, create_app(runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="loyalty-service",
                              daemon=True)
    thread.start()
    local = f"http://127.0.0.1:{server.server_port}"
    store.route(base_url, local)
    session = requests.Session()
    try:
        yield WooService(runtime, local, store, session)
    finally:
        session.close()
        server.shutdown()
        thread.join(5)


# -- fixtures: a running fake store and our service connected to it (import them into a test module)

@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    with running_store() as store:
        yield store


@pytest.fixture
def service(db, db_url, store):  # type: ignore[no-untyped-def]
    with running_service(db, db_url, store) as service:
        yield service
