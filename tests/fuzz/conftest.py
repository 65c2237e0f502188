"""Bad input, generated: hypothesis (and schemathesis for the JSON API) against the real Flask app
through its test client (no sockets, so hundreds of requests take seconds). Every test asserts the
same contract: no 500, a clear 4xx, and nothing stored that should not be. Examples are few
(FUZZ_EXAMPLES) so the directory runs in about 20 s; raise it locally to dig deeper."""
from __future__ import annotations

import os

import pytest

from adapters.shopify import ShopifyPlatform
from adapters.woocommerce import WooCommercePlatform
from integration.config import build_settings
from integration.shops import add_shop, create_api_key
from integration.web.bootstrap import build_runtime, create_app
from tests.fakes import FakePlatform

FUZZ_EXAMPLES = int(os.environ.get("LOYALTY_FUZZ_EXAMPLES", "40"))
SHOPIFY_SECRET = "fuzz-app-secret-0123456789abcdef0123"  # 32+ bytes: PyJWT warns on shorter HMAC keys
API_KEY = "fuzz-api-key"
WOO_SECRET = "woo-hook-secret"


class App:
    def __init__(self, runtime, client, key: str, shop_ids: dict[str, int]):  # type: ignore[no-untyped-def]
        self.runtime, self.client, self.key, self.shop_ids = runtime, client, key, shop_ids


@pytest.fixture
def fuzz_app(db_url, db):  # type: ignore[no-untyped-def]
    settings = build_settings({
        "server": {"secret_key": "fuzz-secret-key", "base_url": "http://localhost"}, "database": {"url": db_url},
        "shopify": {"api_key": API_KEY, "api_secret": SHOPIFY_SECRET}}, environ={})
    platforms = {"shopify": ShopifyPlatform(admin_url="http://127.0.0.1:9/{shop}", sleep=lambda s: None, max_attempts=1),
                 "woocommerce": WooCommercePlatform(timeout=1.0, sleep=lambda s: None), "fake": FakePlatform()}
    runtime = build_runtime(settings, platforms=platforms, db=db)
    with db.write() as conn:
        ids = {"shopify": add_shop(conn, runtime.box, platform="shopify", domain="fuzz.myshopify.com", now=runtime.clock(),
                                   credentials={"access_token": "shpat_fuzz"}),
               "woocommerce": add_shop(conn, runtime.box, platform="woocommerce", domain="https://woo.example",
                                       now=runtime.clock(), webhook_secret=WOO_SECRET,
                                       credentials={"consumer_key": "ck_x", "consumer_secret": "cs_x"})}
        key = create_api_key(conn, ids["shopify"], runtime.clock())
    app = create_app(runtime)
    app.config["TESTING"] = False  # exceptions must become answers, as in production
    return App(runtime, app.test_client(), key, ids)
