"""A fake Shopify Admin API (`responses`) that validates every GraphQL request it receives
against the vendored schema, for the version named in the request URL."""
import json

import pytest
import responses

from adapters.shopify import ShopifyPlatform
from integration.ports import ShopAccess
from tests.shopify_contract import assert_valid_graphql_request

ADMIN = "https://admin.test/{shop}"
SHOP = ShopAccess(shop_id=1, platform="shopify", domain="jsmith.myshopify.com", credentials={"access_token": "shpat_x"})


def graphql_url(version: str = "2026-10") -> str:
    return f"https://admin.test/jsmith.myshopify.com/admin/api/{version}/graphql.json"


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        for call in mock.calls:
            if call.request.url.endswith("/graphql.json"):
                assert call.request.headers["X-Shopify-Access-Token"] == "shpat_x"
                assert_valid_graphql_request(json.loads(call.request.body), call.request.url)


@pytest.fixture
def waits():
    return []


@pytest.fixture
def platform(waits):
    return ShopifyPlatform(admin_url=ADMIN, api_version="2026-10", sleep=waits.append, max_attempts=4)


def sent(api, index: int = -1) -> dict:
    return json.loads(api.calls[index].request.body)
