"""The portal through Shopify's app proxy, checked with Shopify's published signature vectors
(tests/fixtures/shopify/vectors.md §C1: secret `hush`, shop-name.myshopify.com, 2011 timestamp)."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from integration.db.tables import members, redemptions
from integration.events import Customer
from integration.program import default_program
from integration.redemption import adjust
from integration.services import enrol
from integration.shops import add_shop
from tests.integration.portal_helpers import form_token, text_of

LOGGED_IN = ("extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1"
             "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
             "&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb")
ANONYMOUS = ("extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id="
             "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
             "&signature=e072b6d7e6622d85912a5214b860d3100dc1e73d9bc29f43796ac8c9ff8093cb")
SIGNED_AT = datetime.fromtimestamp(1317327555, timezone.utc)


@pytest.fixture
def storefront(service):  # type: ignore[no-untyped-def]
    """A Shopify shop signed with the app secret `hush`, customer 1 a member with 50 points."""
    service.runtime.clock.now = SIGNED_AT
    with service.runtime.db.write() as conn:
        shop_id = add_shop(conn, service.runtime.box, platform="shopify", domain="shop-name.myshopify.com",
                           now=SIGNED_AT, name="Shop Name")
        enrol(conn, shop_id, Customer("1", email="one@example.com", first_name="Una"), default_program(), SIGNED_AT)
        enrol(conn, shop_id, Customer("2", email="two@example.com", first_name="Tom"), default_program(), SIGNED_AT)
    return service


def test_a_logged_in_customer_sees_their_own_page(storefront):
    response = storefront.session.get(f"{storefront.base_url}/proxy/shopify?{LOGGED_IN}", timeout=10)
    text = text_of(response.text)
    assert response.status_code == 200
    assert "Shop Name rewards" in text and "Hi Una, your balance 50 points" in text
    assert "Tom" not in text
    assert 'action="/apps/awesome_reviews/redeem"' not in response.text  # nothing claimable at 50 points
    assert 'action="/apps/awesome_reviews/claim"' in response.text  # forms post back through the proxy
    sub_path = storefront.session.get(f"{storefront.base_url}/proxy/shopify/rewards?{LOGGED_IN}", timeout=10)
    assert sub_path.status_code == 200 and "Hi Una" in sub_path.text


def test_an_anonymous_visitor_sees_how_it_works_and_a_sign_in_prompt(storefront):
    response = storefront.session.get(f"{storefront.base_url}/proxy/shopify?{ANONYMOUS}", timeout=10)
    text = text_of(response.text)
    assert response.status_code == 200
    assert "How it works" in text and "Earn 1 point for every $1.00 you spend." in text
    assert 'href="/account/login?return_url=/apps/awesome_reviews"' in response.text
    assert "Una" not in text and "50 points" not in text.replace("Get 50 points when you join.", "")


def test_a_tampered_or_stale_query_is_refused(storefront):
    tampered = LOGGED_IN.replace("logged_in_customer_id=1", "logged_in_customer_id=2")
    response = storefront.session.get(f"{storefront.base_url}/proxy/shopify?{tampered}", timeout=10)
    assert response.status_code == 401
    assert "Tom" not in response.text and "Una" not in response.text
    # and the genuine query, replayed after Shopify's 90 seconds
    storefront.runtime.clock.now = datetime.fromtimestamp(1317327555 + 91, timezone.utc)
    assert storefront.session.get(f"{storefront.base_url}/proxy/shopify?{LOGGED_IN}", timeout=10).status_code == 401


def signed(customer_id: str, now: datetime, secret: str = "hush") -> str:
    """A query as Shopify forwards it (vectors.md §C: sorted, no separator, hex HMAC)."""
    params = {"shop": "shop-name.myshopify.com", "logged_in_customer_id": customer_id,
              "path_prefix": "/apps/rewards", "timestamp": str(int(now.timestamp()))}
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    return urlencode({**params, "signature": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()})


def test_a_logged_in_customer_redeems_through_the_proxy_once(storefront):
    # given customer 1 with 250 points in a shop whose store writes go to the fake platform
    storefront.runtime.platforms["shopify"] = storefront.platform
    now = storefront.runtime.clock()
    with storefront.runtime.db.write() as conn:
        member_id = conn.execute(select(members.c.id).where(members.c.customer_id == "1")).scalar_one()
        shop_id = conn.execute(select(members.c.shop_id).where(members.c.id == member_id)).scalar_one()
        adjust(conn, shop_id, member_id, 200, "goodwill", now, key="t1")
    page = storefront.session.get(f"{storefront.base_url}/proxy/shopify?{signed('1', now)}", timeout=10)
    form = {"form_token": form_token(page.text), "reward_id": "r200"}
    assert 'action="/apps/rewards/redeem"' in page.text
    # when the form is posted twice through the proxy (Shopify signs each request)
    first = storefront.session.post(f"{storefront.base_url}/proxy/shopify/redeem?{signed('1', now)}", data=form, timeout=10)
    again = storefront.session.post(f"{storefront.base_url}/proxy/shopify/redeem?{signed('1', now)}", data=form, timeout=10)
    # then one code, for customer 1 only
    with storefront.runtime.db.read() as conn:
        codes = conn.execute(select(redemptions.c.code, redemptions.c.member_id)).all()
    assert [tuple(c) for c in codes] == [(codes[0].code, member_id)]
    assert first.status_code == 200 and codes[0].code in first.text and codes[0].code in again.text
    assert "Points left to spend: 50 points" in text_of(again.text)
    # and another customer cannot use customer 1's form
    other = storefront.session.post(f"{storefront.base_url}/proxy/shopify/redeem?{signed('2', now)}", data=form, timeout=10)
    assert other.status_code == 400
