"""Installing the public app through the real HTTP endpoints against the fake store: OAuth
(install → grant screen → callback) and token exchange on the embedded page load."""
from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
from sqlalchemy import func, select

from adapters.shopify.platform import WEBHOOK_TOPICS
from integration.db.tables import shops
from integration.shops import find_shop, shop_access
from tests.fake_shopify import CLIENT_ID, CLIENT_SECRET, fake_shopify, shopify_service, signed_query  # noqa: F401

SHOP = "lb-test.myshopify.com"


def start_install(service, shop: str = SHOP):  # type: ignore[no-untyped-def]
    query = signed_query({"shop": shop, "timestamp": str(int(service.runtime.clock().timestamp()))})
    return service.session.get(f"{service.base_url}/shopify/install?{query}", allow_redirects=False, timeout=10)


def shop_count(service) -> int:  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return conn.execute(select(func.count()).select_from(shops)).scalar_one()


def test_oauth_install_saves_an_expiring_token_and_subscribes_webhooks(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    # when the merchant starts the install from Shopify
    started = start_install(service)
    # then they are sent to the grant screen with a state nonce we also keep in a signed cookie
    assert started.status_code == 302
    location = urlsplit(started.headers["Location"])
    query = parse_qs(location.query)
    assert (location.scheme, location.netloc, location.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [f"{service.base_url}/shopify/callback"]
    assert "shopify_app_state" in service.session.cookies
    # when Shopify calls back after approval
    host = base64.b64encode(b"admin.shopify.com/store/lb-test").decode()
    callback = fake.callback_query(SHOP, query["state"][0], now=service.runtime.clock().timestamp(), host=host)
    finished = service.session.get(f"{service.base_url}/shopify/callback?{callback}", allow_redirects=False, timeout=10)
    # then the app opens inside the Shopify admin
    assert finished.status_code == 302
    assert finished.headers["Location"] == f"https://admin.shopify.com/store/lb-test/apps/{CLIENT_ID}"
    # and the shop holds an encrypted, expiring offline token with its refresh token
    with service.runtime.db.read() as conn:
        row = find_shop(conn, "shopify", SHOP)
        access = shop_access(conn, service.runtime.box, row.id)
    assert row.status == "active"
    assert row.token_expires_at.replace(tzinfo=None) == (service.runtime.clock() + timedelta(hours=1)).replace(tzinfo=None)
    assert access.credentials["access_token"] in fake.shop(SHOP).access_tokens
    assert access.credentials["refresh_token"] in fake.shop(SHOP).refresh_tokens
    assert access.credentials["access_token"] not in row.credentials
    token_calls = [r for r in fake.requests if r.path.endswith("/admin/oauth/access_token")]
    assert [(r.body["code"] != "", r.body["expiring"]) for r in token_calls] == [(True, "1")]
    # and the webhook subscriptions point at our ingest
    assert [(s["topic"], s["uri"]) for s in fake.shop(SHOP).subscriptions] == [
        (topic, f"{service.base_url}/webhooks/shopify") for topic in WEBHOOK_TOPICS]


def test_install_with_a_bad_signature_is_refused(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    timestamp = str(int(service.runtime.clock().timestamp()))
    forged = signed_query({"shop": SHOP, "timestamp": timestamp}, secret="not-the-app-secret")
    stale = signed_query({"shop": SHOP, "timestamp": str(int(timestamp) - 3600)})
    for query in (forged, stale):
        response = service.session.get(f"{service.base_url}/shopify/install?{query}", allow_redirects=False, timeout=10)
        assert response.status_code == 401
    assert service.fake.requests == []


def test_install_rejects_a_domain_that_is_not_a_shop(shopify_service):  # type: ignore[no-untyped-def]
    response = start_install(shopify_service, "evil.example.com")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_callback_with_another_state_saves_nothing(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    start_install(service)
    callback = service.fake.callback_query(SHOP, "guessed-state", now=service.runtime.clock().timestamp())
    response = service.session.get(f"{service.base_url}/shopify/callback?{callback}", allow_redirects=False, timeout=10)
    assert response.status_code == 403
    assert shop_count(service) == 0
    assert service.fake.requests == []  # no code exchanged


def test_callback_without_the_state_cookie_saves_nothing(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    callback = service.fake.callback_query(SHOP, "some-state", now=service.runtime.clock().timestamp())
    response = service.session.get(f"{service.base_url}/shopify/callback?{callback}", allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert shop_count(service) == 0


def test_callback_naming_another_shop_is_refused(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    state = parse_qs(urlsplit(start_install(service).headers["Location"]).query)["state"][0]
    other = "other-shop.myshopify.com"
    callback = service.fake.callback_query(other, state, now=service.runtime.clock().timestamp())
    response = service.session.get(f"{service.base_url}/shopify/callback?{callback}", allow_redirects=False, timeout=10)
    assert response.status_code == 403
    assert shop_count(service) == 0


def test_a_refused_code_saves_nothing(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    state = parse_qs(urlsplit(start_install(service).headers["Location"]).query)["state"][0]
    callback = service.fake.callback_query(SHOP, state, now=service.runtime.clock().timestamp())
    service.fake.shop(SHOP).codes_issued.clear()  # e.g. the code was already used
    response = service.session.get(f"{service.base_url}/shopify/callback?{callback}", allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "already used or has expired" in response.text
    assert shop_count(service) == 0


def session_token(service, shop: str = SHOP, secret: str = CLIENT_SECRET) -> str:  # type: ignore[no-untyped-def]
    now = int(service.runtime.clock().timestamp())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": CLIENT_ID, "sub": "42",
              "exp": now + 60, "nbf": now - 5, "iat": now - 5, "jti": "f3c6b4a0", "sid": "s1"}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_embedded_load_exchanges_the_session_token_once(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    token = session_token(service)
    # when the embedded app first loads with an id_token
    first = service.session.get(f"{service.base_url}/shopify?id_token={token}&shop={SHOP}", timeout=10)
    # then the session token was exchanged for an expiring offline token and the shop set up
    assert first.status_code == 200 and SHOP in first.text
    exchanges = [r.body for r in fake.requests if r.path.endswith("/admin/oauth/access_token")]
    assert [(b["grant_type"], b["subject_token"], b["requested_token_type"], b["expiring"]) for b in exchanges] == [
        ("urn:ietf:params:oauth:grant-type:token-exchange", token,
         "urn:shopify:params:oauth:token-type:offline-access-token", "1")]
    assert len(fake.shop(SHOP).subscriptions) == len(WEBHOOK_TOPICS)
    # when a later request carries the token as a bearer header
    again = service.session.get(f"{service.base_url}/shopify", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    # then the stored token is used: no second exchange
    assert again.status_code == 200
    assert len([r for r in fake.requests if r.path.endswith("/admin/oauth/access_token")]) == 1


def test_a_forged_session_token_asks_app_bridge_to_retry(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    forged = session_token(service, secret="x" * 40)
    response = service.session.get(f"{service.base_url}/shopify?id_token={forged}", timeout=10)
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert shop_count(service) == 0 and service.fake.requests == []


def test_installed_shop_webhooks_verify_with_the_app_secret(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    service.install(SHOP)
    body = json.dumps({"id": 1}).encode()
    assert service.deliver("orders/updated", body, shop=SHOP).status_code == 200
    assert service.deliver("orders/updated", body, shop=SHOP, secret="wrong").status_code == 401
