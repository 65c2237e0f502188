"""A local fake Shopify store: a real HTTP server on 127.0.0.1 for integration and e2e tests.

It answers `/<shop>/admin/oauth/access_token` (code grant, token exchange, refresh) and
`/<shop>/admin/api/<version>/graphql.json` for the operations the adapter sends, so point
`shopify.admin_url` at `fake.admin_url` (`http://127.0.0.1:<port>/{shop}`). Every GraphQL request
is validated with `tests.shopify_contract`; a problem is answered with an error AND kept, and the
`fake_shopify` fixture fails the test with it. Every request is recorded. `fail_next` makes the
next calls answer THROTTLED, 429 or 5xx (optionally after applying a mutation, like a lost answer).
State per shop: tokens, webhook subscriptions, discount codes, customer tags and orders.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import graphql
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.shopify_contract import graphql_problems

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-0123456789abcdef"
TOKEN_PATH = re.compile(r"^/(?P<shop>[^/]+)/admin/oauth/access_token$")
GRAPHQL_PATH = re.compile(r"^/(?P<shop>[^/]+)/admin/api/(?P<version>[^/]+)/graphql\.json$")
THROTTLED = {
    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                                                       "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
    "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None,
                            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 0, "restoreRate": 50.0}}},
}
THROTTLE_WAIT = 0.2  # what THROTTLED above announces: (10 - 0) / 50 seconds
CODE_TAKEN = "Code must be unique. Please try a different code."


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200

    @property
    def operation(self) -> str | None:
        """The GraphQL root field (e.g. `discountCodeBasicCreate`), or None for token calls."""
        return root_field(self.body["query"]) if "query" in self.body else None

    @property
    def variables(self) -> dict[str, Any]:
        return self.body.get("variables") or {}


@dataclass
class ShopState:
    access_tokens: dict[str, datetime | None] = field(default_factory=dict)  # token -> expiry
    refresh_tokens: set[str] = field(default_factory=set)
    codes_issued: set[str] = field(default_factory=set)
    subscriptions: list[dict[str, str]] = field(default_factory=list)
    discounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> {id, input, kind}
    tags: dict[str, set[str]] = field(default_factory=dict)  # customer gid -> tags
    orders: list[dict[str, Any]] = field(default_factory=list)  # GraphQL Order nodes
    uninstalled: bool = False


def root_field(query: str) -> str | None:
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError:
        return None
    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            first = definition.selection_set.selections[0]
            return first.name.value if isinstance(first, graphql.FieldNode) else None
    return None


def query_hmac(params: dict[str, str], secret: str = CLIENT_SECRET) -> str:
    """Shopify's hex HMAC of a query: sorted `key=value` joined by `&`, `hmac` left out."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_query(params: dict[str, str], secret: str = CLIENT_SECRET) -> str:
    return urlencode({**params, "hmac": query_hmac(params, secret)})


class FakeShopify:
    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 token_lifetime: timedelta = timedelta(hours=1)):
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self.shops: dict[str, ShopState] = {}
        self.requests: list[Recorded] = []
        self.problems: list[str] = []
        self._failures: list[tuple[str, bool]] = []  # (kind, apply the mutation first)
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-shopify", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeShopify:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def admin_url(self) -> str:
        """The `shopify.admin_url` template that routes to this fake."""
        return self.base_url + "/{shop}"

    # -- test controls -----------------------------------------------------------------------
    def shop(self, domain: str) -> ShopState:
        with self._lock:
            return self.shops.setdefault(domain, ShopState())

    def fail_next(self, count: int, kind: str = "throttled", *, after_applying: bool = False) -> None:
        """The next `count` GraphQL calls answer `kind`: "throttled" (HTTP 200 THROTTLED body),
        "429" (Retry-After: 1), or a 5xx status such as "503". With `after_applying`, a mutation
        takes effect first and only its answer is lost."""
        with self._lock:
            self._failures.extend([(kind, after_applying)] * count)

    def issue_code(self, domain: str) -> str:
        """What Shopify does when the merchant approves the grant screen."""
        code = secrets.token_hex(16)
        self.shop(domain).codes_issued.add(code)
        return code

    def callback_query(self, domain: str, state: str, *, now: float | None = None, host: str | None = None) -> str:
        """The signed query Shopify sends to the app's redirect URI after approval."""
        params = {"code": self.issue_code(domain), "shop": domain, "state": state,
                  "timestamp": str(int(now if now is not None else time.time()))}
        if host:
            params["host"] = host
        return signed_query(params, self.client_secret)

    def grant_token(self, domain: str, *, expires: bool = True) -> dict[str, Any]:
        """A token this fake accepts, as the token endpoint would answer it."""
        with self._lock:
            state = self.shop(domain)
            access, refresh = "shpat_" + secrets.token_hex(12), "shprt_" + secrets.token_hex(12)
            expiry = datetime.now(timezone.utc) + self.token_lifetime if expires else None
            state.access_tokens[access] = expiry
            answer: dict[str, Any] = {"access_token": access, "scope": "read_orders,read_customers,write_customers,"
                                      "read_products,write_discounts,read_discounts"}
            if expires:
                state.refresh_tokens.add(refresh)
                answer.update(expires_in=int(self.token_lifetime.total_seconds()), refresh_token=refresh,
                              refresh_token_expires_in=90 * 24 * 3600)
            return answer

    def uninstall(self, domain: str) -> None:
        """The merchant removed the app: every token stops working (401)."""
        with self._lock:
            state = self.shop(domain)
            state.uninstalled = True
            state.access_tokens.clear()
            state.refresh_tokens.clear()

    def add_order(self, domain: str, order: dict[str, Any]) -> None:
        with self._lock:
            self.shop(domain).orders.append(order)

    def graphql_calls(self, operation: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if "query" in r.body and (operation is None or r.operation == operation)]

    # -- HTTP --------------------------------------------------------------------------------
    def _wsgi(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        try:
            response = self._route(request)
        except Exception as error:  # noqa: BLE001 - a crash in the fake must fail the test, not hang it
            self.problems.append(f"fake crashed on {request.path}: {error!r}")
            response = _json({"errors": [{"message": "fake crashed"}]}, 500)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = {}
        record = Recorded(request.path, body if isinstance(body, dict) else {}, dict(request.headers))
        with self._lock:
            self.requests.append(record)
        if request.method != "POST":
            record.status = 405
            return _json({"errors": "method not allowed"}, 405)
        if match := TOKEN_PATH.match(request.path):
            response = self._token(match["shop"], record.body)
        elif match := GRAPHQL_PATH.match(request.path):
            response = self._graphql(match["shop"], request.url, record)
        else:
            response = _json({"errors": "Not Found"}, 404)
        record.status = response.status_code
        return response

    def _token(self, domain: str, body: dict[str, Any]) -> Response:
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return _json({"error": "invalid_client"}, 401)
        state = self.shop(domain)
        grant = body.get("grant_type")
        with self._lock:
            if grant is None and body.get("code") in state.codes_issued:
                state.codes_issued.discard(body["code"])  # a code works once
            elif grant == "refresh_token" and body.get("refresh_token") in state.refresh_tokens:
                state.refresh_tokens.discard(body["refresh_token"])  # rotates on every use
            elif grant == "urn:ietf:params:oauth:grant-type:token-exchange" and body.get("subject_token"):
                pass
            else:
                return _json({"error": "invalid_grant", "error_description": "grant refused"}, 400)
            state.uninstalled = False
        return _json(self.grant_token(domain, expires=body.get("expiring") == "1" or grant == "refresh_token"))

    def _graphql(self, domain: str, url: str, record: Recorded) -> Response:
        problems = graphql_problems(record.body, url)
        if problems:
            self.problems.extend(f"{record.operation or '?'}: {p}" for p in problems)
            return _json({"errors": [{"message": p} for p in problems]}, 200)
        state = self.shop(domain)
        token = record.headers.get("X-Shopify-Access-Token", "")
        with self._lock:
            expiry = state.access_tokens.get(token, "missing")
        if expiry == "missing" or (isinstance(expiry, datetime) and expiry <= datetime.now(timezone.utc)):
            return _json({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401)
        failure = self._next_failure()
        if failure is not None and not failure[1]:
            return _failure(failure[0])
        data = self._execute(state, record.operation or "", record.variables)
        if failure is not None:
            return _failure(failure[0])
        return _json({"data": data, "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
                      "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 990, "restoreRate": 50.0}}}})

    def _next_failure(self) -> tuple[str, bool] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    # -- operations --------------------------------------------------------------------------
    def _execute(self, state: ShopState, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if operation == "webhookSubscriptionCreate":
                return {operation: self._subscribe(state, variables)}
            if operation in ("discountCodeBasicCreate", "discountCodeFreeShippingCreate"):
                return {operation: self._create_discount(state, operation, variables)}
            if operation == "codeDiscountNodeByCode":
                found = state.discounts.get(variables.get("code", ""))
                return {operation: _discount_node(found) if found else None}
            if operation == "discountCodeDelete":
                gone = [c for c, d in state.discounts.items() if d["id"] == variables.get("id")]
                for code in gone:
                    del state.discounts[code]
                errors = [] if gone else [{"field": ["id"], "code": None, "message": "Discount does not exist"}]
                return {operation: {"deletedCodeDiscountId": variables.get("id") if gone else None, "userErrors": errors}}
            if operation in ("tagsAdd", "tagsRemove"):
                tags = state.tags.setdefault(variables["id"], set())
                (tags.update if operation == "tagsAdd" else tags.difference_update)(variables["tags"])
                return {operation: {"node": {"id": variables["id"]}, "userErrors": []}}
            if operation == "orders":
                return {operation: self._orders_page(state, variables)}
            if operation == "order":
                return {operation: next((o for o in state.orders if o["id"] == variables.get("id")), None)}
        self.problems.append(f"the fake does not implement {operation!r}")
        return {}

    def _subscribe(self, state: ShopState, variables: dict[str, Any]) -> dict[str, Any]:
        subscription = variables["webhookSubscription"]
        address = subscription.get("uri") or subscription.get("callbackUrl")
        if any(s["topic"] == variables["topic"] and s["uri"] == address for s in state.subscriptions):
            return {"webhookSubscription": None,
                    "userErrors": [{"field": ["webhookSubscription", "callbackUrl"],
                                    "message": "Address for this topic has already been taken"}]}
        created = {"id": f"gid://shopify/WebhookSubscription/{next(self._ids)}", "topic": variables["topic"],
                   "uri": address}
        state.subscriptions.append(created)
        return {"webhookSubscription": {"id": created["id"]}, "userErrors": []}

    def _create_discount(self, state: ShopState, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        data = variables.get("basicCodeDiscount") or variables.get("freeShippingCodeDiscount") or {}
        if data["code"] in state.discounts:
            return {"codeDiscountNode": None,
                    "userErrors": [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": CODE_TAKEN}]}
        discount = {"id": f"gid://shopify/DiscountCodeNode/{next(self._ids)}", "input": data, "kind": operation}
        state.discounts[data["code"]] = discount
        return {"codeDiscountNode": _discount_node(discount), "userErrors": []}

    def _orders_page(self, state: ShopState, variables: dict[str, Any]) -> dict[str, Any]:
        query = variables.get("query") or ""
        orders = sorted(state.orders, key=lambda o: o["updatedAt"])
        if match := re.search(r"updated_at:>'([^']+)'", query):
            since = _parse_time(match.group(1))
            orders = [o for o in orders if _parse_time(o["updatedAt"]) > since]
        if match := re.search(r"name:'([^']+)'", query):
            orders = [o for o in orders if o.get("name") == match.group(1)]
        start = int(variables.get("after") or 0)
        page_size = 2  # small pages, so that paging is exercised
        page = orders[start:start + page_size]
        more = start + page_size < len(orders)
        return {"pageInfo": {"hasNextPage": more, "endCursor": str(start + page_size) if more else None},
                "nodes": [{"id": o["id"], "name": o.get("name")} for o in page]}


def _discount_node(discount: dict[str, Any]) -> dict[str, Any]:
    return {"id": discount["id"], "codeDiscount": {"shareableUrls": []}}


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers or {})


def _failure(kind: str) -> Response:
    if kind == "throttled":
        return _json(THROTTLED, 200)
    if kind == "429":
        return _json(THROTTLED, 429, {"Retry-After": "1.0"})
    return _json({"errors": "Service Unavailable"}, int(kind))


def money(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount}}


def graphql_order(order_id: int, customer_id: int, amount: str, *, updated_at: str, status: str = "PAID",
                  email: str | None = None, refunds: list[dict[str, Any]] | None = None,
                  cancelled_at: str | None = None) -> dict[str, Any]:
    """A GraphQL `Order` node with one line of `amount` (the shape ORDER_DETAIL asks for)."""
    return {
        "id": f"gid://shopify/Order/{order_id}", "name": f"#{order_id}", "email": email,
        "processedAt": updated_at, "updatedAt": updated_at, "cancelledAt": cancelled_at,
        "displayFinancialStatus": status, "currencyCode": "USD", "discountCodes": [],
        "customer": {"id": f"gid://shopify/Customer/{customer_id}", "firstName": None, "lastName": None, "locale": None},
        "totalPriceSet": money(amount), "totalTaxSet": money("0.00"), "totalTipReceivedSet": money("0.00"),
        "shippingLines": {"nodes": []},
        "lineItems": {"pageInfo": {"hasNextPage": False}, "nodes": [{
            "id": f"gid://shopify/LineItem/{order_id}1", "title": "Tote", "sku": None, "quantity": 1,
            "isGiftCard": False, "product": {"id": "gid://shopify/Product/1"}, "variant": {"id": "gid://shopify/ProductVariant/1"},
            "originalUnitPriceSet": money(amount), "discountAllocations": []}]},
        "refunds": refunds or [],
    }


def graphql_refund(refund_id: int, order_id: int, amount: str, created_at: str) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Refund/{refund_id}", "createdAt": created_at,
        "refundLineItems": {"pageInfo": {"hasNextPage": False}, "nodes": [{
            "quantity": 1, "subtotalSet": money(amount), "totalTaxSet": money("0.00"),
            "lineItem": {"id": f"gid://shopify/LineItem/{order_id}1"}}]},
        "refundShippingLines": {"nodes": []}, "orderAdjustments": {"nodes": []},
    }


@pytest.fixture
def fake_shopify() -> Iterator[FakeShopify]:
    """A running fake store; fails the test if any GraphQL request broke the contract."""
    fake = FakeShopify().start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.problems, "the fake Shopify store saw invalid requests:\n  " + "\n  ".join(fake.problems)


# -- the service under test, in process, against the fake store --------------------------------

@dataclass
class ShopifyService:
    """The real Flask app on a loopback HTTP server, wired to the fake store, with the test's
    clock; the Shopify client's waits are recorded in `waits` instead of slept."""

    runtime: Any
    fake: FakeShopify
    base_url: str
    waits: list[float]
    session: Any

    def deliver(self, topic: str, body: bytes, *, shop: str, secret: str = CLIENT_SECRET,
                prefix: str = "X-Shopify-", delivery_id: str | None = None) -> Any:
        """POST a webhook signed as Shopify signs it; `prefix="Shopify-"` sends the Events-style
        headers (no `X-`)."""
        headers = {f"{prefix}Topic": topic, f"{prefix}Hmac-Sha256": webhook_hmac(body, secret),
                   f"{prefix}Shop-Domain": shop, f"{prefix}Webhook-Id": delivery_id or secrets.token_hex(8),
                   f"{prefix}Triggered-At": self.runtime.clock().isoformat(), "Content-Type": "application/json"}
        return self.session.post(f"{self.base_url}/webhooks/shopify", data=body, headers=headers, timeout=10)

    def work(self) -> None:
        """Drain the inbox, then deliver due store writes, as the worker thread would."""
        from webhooks.inbox import Worker
        Worker(self.runtime.db, self.runtime.platforms).drain(self.runtime.clock())
        self.runtime.outbox_runner().run_due(self.runtime.clock())

    def install(self, domain: str, *, expires: bool = True) -> int:
        """A shop installed with a token the fake granted (the OAuth steps are tested elsewhere)."""
        from adapters.shopify import tokens
        from integration.shops import install_with_grant
        grant = tokens.token_set(self.fake.grant_token(domain, expires=expires), self.runtime.clock())
        with self.runtime.db.write() as conn:
            return install_with_grant(conn, self.runtime.box, platform="shopify", domain=domain, grant=grant,
                                      now=self.runtime.clock())


def webhook_hmac(body: bytes, secret: str = CLIENT_SECRET) -> str:
    import base64
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def service_settings(db_url: str, fake: FakeShopify, base_url: str = "http://127.0.0.1:8000") -> Any:
    from integration.config import build_settings
    return build_settings({
        "server": {"secret_key": "test-secret-key", "base_url": base_url},
        "database": {"url": db_url},
        "shopify": {"api_key": fake.client_id, "api_secret": fake.client_secret, "admin_url": fake.admin_url},
    }, environ={})


@pytest.fixture
def shopify_service(db_url, db, clock, fake_shopify):  # type: ignore[no-untyped-def]
    import requests

    from adapters.shopify import ShopifyPlatform
    from integration.web.bootstrap import build_runtime, create_app
    waits: list[float] = []
    platform = ShopifyPlatform(admin_url=fake_shopify.admin_url, api_version="2026-10", sleep=waits.append,
                               max_attempts=4, now=clock)
    server = make_server("127.0.0.1", 0, lambda environ, start: app(environ, start), threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    runtime = build_runtime(service_settings(db_url, fake_shopify, base_url), platforms={"shopify": platform}, db=db)
    runtime.clock = clock
    app = create_app(runtime)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    session = requests.Session()
    yield ShopifyService(runtime, fake_shopify, base_url, waits, session)
    session.close()
    server.shutdown()
    thread.join(5)
