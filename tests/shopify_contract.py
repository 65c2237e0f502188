"""Validate every GraphQL request we send Shopify against the vendored Admin schema.

The schema is 2025-01 (Shopify's own introspection file) extended with the hand-written 2025-10
delta (`context` on code discounts, `uri` on webhook subscriptions); see
tests/schemas/shopify/SOURCE.md. Checks: the document validates, no deprecated field or enum
value is used, and the variables coerce to the declared types. Built once per process.

    from tests.shopify_contract import assert_valid_graphql_request
    assert_valid_graphql_request(json.loads(call.request.body))
"""
from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import graphql
from graphql.execution.values import get_variable_values
from graphql.validation import NoDeprecatedCustomRule, specified_rules

SCHEMAS = Path(__file__).parent / "schemas" / "shopify"
DELTA_VERSION = "2025-10"
# input fields the 2025-10 delta replaced: deprecated from that version, absent before it
REPLACED = {("DiscountCodeBasicInput", "customerSelection"), ("DiscountCodeFreeShippingInput", "customerSelection"),
            ("WebhookSubscriptionInput", "callbackUrl")}
ADDED = {("DiscountCodeBasicInput", "context"), ("DiscountCodeFreeShippingInput", "context"),
         ("WebhookSubscriptionInput", "uri")}


@lru_cache(maxsize=1)
def admin_schema() -> graphql.GraphQLSchema:
    with gzip.open(SCHEMAS / "admin_schema_2025-01.json.gz", "rt", encoding="utf-8") as handle:
        introspection = json.load(handle)
    # assume_valid: graphql-core 3.3 rejects Shopify's own schema over deprecation mismatches
    # between interfaces and implementations (3.2 accepted it); documents are still validated.
    schema = graphql.build_client_schema(introspection.get("data", introspection), assume_valid=True)
    delta = (SCHEMAS / "admin_2025-10_delta.graphql").read_text(encoding="utf-8")
    return graphql.extend_schema(schema, graphql.parse(delta), assume_valid=True)


def api_version(url: str | None) -> str | None:
    match = re.search(r"/admin/api/([^/]+)/graphql\.json", url or "")
    return match.group(1) if match else None


def _input_fields(type_: Any, value: Any, path: str) -> list[tuple[str, str, str, Any]]:
    """(type name, field, path, field def) for every input-object field present in `value`."""
    type_ = graphql.get_nullable_type(type_)
    if isinstance(type_, graphql.GraphQLList):
        return [f for i, v in enumerate(value or []) for f in _input_fields(type_.of_type, v, f"{path}[{i}]")]
    if not isinstance(type_, graphql.GraphQLInputObjectType) or not isinstance(value, dict):
        return []
    found = []
    for name, item in value.items():
        field = type_.fields.get(name)
        if field is not None:
            found.append((type_.name, name, f"{path}.{name}", field))
            found += _input_fields(field.type, item, f"{path}.{name}")
    return found


def _variable_field_problems(schema, operation, variables: dict, version: str | None) -> list[str]:
    problems = []
    for definition in operation.variable_definitions or []:
        name = definition.variable.name.value
        type_ = graphql.type_from_ast(schema, definition.type)
        for owner, field, path, field_def in _input_fields(type_, variables.get(name), "$" + name):
            if field_def.deprecation_reason:
                problems.append(f"{path} is deprecated: {field_def.deprecation_reason}")
            if version and version != "unstable" and version >= DELTA_VERSION and (owner, field) in REPLACED:
                problems.append(f"{path} is deprecated in {version}")
            if version and version != "unstable" and version < DELTA_VERSION and (owner, field) in ADDED:
                problems.append(f"{path} does not exist in {version}")
    return problems


def graphql_problems(body: dict[str, Any], url: str | None = None) -> list[str]:
    """Every problem with one request body `{"query": ..., "variables": ...}`; [] if valid.
    With the request `url`, also the fields that its API version renamed."""
    schema = admin_schema()
    try:
        document = graphql.parse(body["query"])
    except (KeyError, graphql.GraphQLError) as error:
        return [f"unparseable document: {error}"]
    rules = [*specified_rules, NoDeprecatedCustomRule]
    problems = [e.message for e in graphql.validate(schema, document, rules)]
    if problems:
        return problems
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    if len(operations) != 1:
        return [f"expected one operation, got {len(operations)}"]
    coerced = get_variable_values(schema, operations[0].variable_definitions or [], body.get("variables") or {})
    if isinstance(coerced, list):
        return [e.message for e in coerced]
    return _variable_field_problems(schema, operations[0], body.get("variables") or {}, api_version(url))


def assert_valid_graphql_request(body: dict[str, Any] | str | bytes, url: str | None = None) -> None:
    """Fail with every problem of one request; pass `url` to check version-specific fields."""
    if not isinstance(body, dict):
        body = json.loads(body)
    problems = graphql_problems(body, url)
    assert not problems, "invalid Shopify GraphQL request:\n  " + "\n  ".join(problems)
