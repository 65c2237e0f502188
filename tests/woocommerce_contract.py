"""WooCommerce REST contract checks for tests: every request body we send is validated against the
JSON Schemas vendored in tests/schemas/woocommerce (see SOURCE.md there), loaded once at import.

Use `assert_valid_*` on one body, or `assert_requests_valid(responses.calls)` at the end of a test
to check every request a client made, dispatched by method and path.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker

SCHEMAS = Path(__file__).parent / "schemas" / "woocommerce"
FIXTURES = Path(__file__).parent / "fixtures" / "woocommerce"


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


COUPON_CREATE_SCHEMA = _load("coupon.create.json")
WEBHOOK_CREATE_SCHEMA = _load("webhook.create.json")
ORDER_SCHEMA = _load("order.json")
# PUT /webhooks/<id> takes the same fields as create, none of them required.
WEBHOOK_UPDATE_SCHEMA = {**copy.deepcopy(WEBHOOK_CREATE_SCHEMA), "required": [],
                         "$id": "woocommerce/webhook.update.json (derived)"}
# No customer schema is vendored; customer meta_data items have the coupon's {id?, key, value} shape.
CUSTOMER_META_UPDATE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["meta_data"], "additionalProperties": False,
    "properties": {"meta_data": copy.deepcopy(COUPON_CREATE_SCHEMA["properties"]["meta_data"])},
}

_COUPON_CREATE = _validator(COUPON_CREATE_SCHEMA)
_WEBHOOK_CREATE = _validator(WEBHOOK_CREATE_SCHEMA)
_WEBHOOK_UPDATE = _validator(WEBHOOK_UPDATE_SCHEMA)
_CUSTOMER_META_UPDATE = _validator(CUSTOMER_META_UPDATE_SCHEMA)
_ORDER = _validator(ORDER_SCHEMA)


def _assert_valid(validator: Draft202012Validator, instance: Any, label: str) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
    assert not errors, f"{label} breaks the schema: " + "; ".join(
        f"{'/'.join(map(str, error.path)) or '<root>'}: {error.message}" for error in errors)


def assert_valid_coupon_create(body: Any) -> None:
    _assert_valid(_COUPON_CREATE, body, "POST coupons body")


def assert_valid_webhook_create(body: Any) -> None:
    _assert_valid(_WEBHOOK_CREATE, body, "POST webhooks body")


def assert_valid_webhook_update(body: Any) -> None:
    _assert_valid(_WEBHOOK_UPDATE, body, "PUT webhooks/<id> body")


def assert_valid_customer_meta_update(body: Any) -> None:
    _assert_valid(_CUSTOMER_META_UPDATE, body, "PUT customers/<id> body")


def assert_valid_order(order: Any) -> None:
    _assert_valid(_ORDER, order, "order")


_BODY_RULES = (
    ("POST", re.compile(r"/wp-json/wc/v3/coupons$"), assert_valid_coupon_create),
    ("POST", re.compile(r"/wp-json/wc/v3/webhooks$"), assert_valid_webhook_create),
    ("PUT", re.compile(r"/wp-json/wc/v3/webhooks/\d+$"), assert_valid_webhook_update),
    ("PUT", re.compile(r"/wp-json/wc/v3/customers/\d+$"), assert_valid_customer_meta_update),
)


def assert_requests_valid(calls: Any) -> int:
    """Validate the body of every recorded request (`responses.calls`); a request with a body
    that no rule covers fails, so a new kind of write cannot slip past. Returns how many bodies."""
    checked = 0
    for call in calls:
        request = call.request
        path = urlsplit(request.url).path
        if not request.body:
            continue
        rule = next((check for method, pattern, check in _BODY_RULES
                     if method == request.method and pattern.search(path)), None)
        assert rule is not None, f"no schema for {request.method} {path}"
        assert request.headers.get("Content-Type", "").startswith("application/json")
        rule(json.loads(request.body))
        checked += 1
    return checked


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture(name: str) -> Any:
    return json.loads(fixture_bytes(name))
