"""Refer a friend end to end, with the real Shopify and WooCommerce adapters talking HTTP to the
local fake stores (every request validated against the platform's schema): the referrer's link,
the friend's code created in the store, the friend's paid order with that code, the referrer
credited once after the pending period; a returned friend order takes the reward back."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from integration.web.woocommerce_app import connect_store
from scheduler.jobs import referrals as referrals_job
from tests.fake_shopify import fake_shopify, shopify_service  # noqa: F401
from tests.fake_woocommerce import running_service, running_store
from tests.integration.referral_helpers import (
    ask_code,
    link_of,
    member_id,
    referral_entries,
    referral_rows,
    set_referrals,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
SHOP = "shop-name.myshopify.com"


# -- Shopify ------------------------------------------------------------------------------------

def shopify_order(order_id: int, customer_id: int, email: str, *, codes: tuple[str, ...] = (),
                  at: str = "2026-03-01T12:00:00+00:00") -> bytes:
    """Shopify's orders/paid sample (181.09 after discounts) as another order of another customer."""
    order = json.loads((FIXTURES / "orders_paid.json").read_text())
    order.update(id=order_id, order_number=order_id, name=f"#{order_id}", email=email, processed_at=at, created_at=at,
                 admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
                 discount_codes=[{"code": code, "amount": "10.00", "type": "fixed_amount"} for code in codes])
    order["customer"].update(id=customer_id, email=email)
    order["shipping_address"] = {**order["shipping_address"], "address1": f"{customer_id} Fake Street"}  # each their own
    return json.dumps(order).encode()


def shopify_refund(refund_id: int, order_id: int, amount: str) -> bytes:
    """Shopify's refunds/create sample, refunding `amount` of the order's one line."""
    body = json.loads((FIXTURES / "refunds_create.json").read_text())
    line = json.loads((FIXTURES / "orders_paid.json").read_text())["line_items"][0]
    body.update(id=refund_id, order_id=order_id, created_at="2026-03-03T12:00:00+00:00",
                processed_at="2026-03-03T12:00:00+00:00")
    item = body["refund_line_items"][0]
    item.update(line_item_id=line["id"], subtotal=float(amount), line_item={**item["line_item"], "id": line["id"]},
                subtotal_set={"shop_money": {"amount": amount, "currency_code": "USD"},
                              "presentment_money": {"amount": amount, "currency_code": "USD"}})
    body["refund_line_items"] = [item]
    return json.dumps(body).encode()


def test_shopify_friend_code_order_pending_credit_and_refund(shopify_service):  # noqa: F811  # type: ignore[no-untyped-def]
    service = shopify_service
    shop_id = service.install(SHOP)
    set_referrals(service.runtime, shop_id, pending_days=7, referrer_points=400, review_same_ip=False)
    # given a member (a paid order) and their referral link
    service.deliver("orders/paid", shopify_order(9001, 501, "ann@example.com"), shop=SHOP)
    service.work()
    link = link_of(service.runtime, shop_id, member_id(service.runtime, shop_id, "501"))
    page = service.session.get(f"{service.base_url}/r/{link}", timeout=10)
    assert page.status_code == 200 and "$10.00 off your first order" in page.text
    # when two friends ask for their codes on the landing page
    status, code = ask_code(service.session, service.base_url, link, "bob@example.com")
    _, code2 = ask_code(service.session, service.base_url, link, "dan@example.com")
    # then each is created in the store: single use, open to a buyer who is not a customer yet
    assert status == 200 and code.startswith("FRIEND-")
    created = service.fake.shop(SHOP).discounts[code]["input"]
    assert (created["usageLimit"], created["appliesOncePerCustomer"], created["context"]) == (1, True, {"all": "ALL"})
    assert created["customerGets"]["value"] == {"discountAmount": {"amount": "10", "appliesOnEachItem": False}}
    assert f'href="https://{SHOP}/discount/{code}' in service.session.post(
        f"{service.base_url}/r/{link}", data={"email": "bob@example.com"}, timeout=10).text
    # when the friends' orders with the codes are paid (one delivered twice)
    for body in (shopify_order(9002, 502, "bob@example.com", codes=(code,)),) * 2 + (
            shopify_order(9003, 503, "dan@example.com", codes=(code2.lower(),)),):
        service.deliver("orders/paid", body, shop=SHOP)
    service.work()
    first, second = referral_rows(service.runtime)
    assert [(r.status, r.order_id) for r in (first, second)] == [("pending", "9002"), ("pending", "9003")]
    # and the second friend returns the whole order within the pending period
    service.deliver("refunds/create", shopify_refund(7001, 9003, "181.09"), shop=SHOP)
    service.work()
    # then after the period only the first referral is credited, once
    now = service.runtime.clock()
    assert referrals_job(service.runtime, shop_id, now + timedelta(days=6)).changed == 0
    assert referrals_job(service.runtime, shop_id, now + timedelta(days=7)).changed == 1
    assert referrals_job(service.runtime, shop_id, now + timedelta(days=8)).changed == 0
    assert referral_entries(service.runtime) == [(f"referral:{first.id}", 400)]
    assert referral_rows(service.runtime)[1].status == "reversed"
    # and a full refund of the first friend's order afterwards takes the reward back
    service.deliver("refunds/create", shopify_refund(7002, 9002, "181.09"), shop=SHOP)
    service.work()
    assert referral_entries(service.runtime) == [(f"referral:{first.id}", 400), (f"referral:{first.id}:reverse", -400)]


# -- WooCommerce ------------------------------------------------------------------------------------

@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    with running_store() as store:
        yield store


@pytest.fixture
def woo(db, db_url, store):  # type: ignore[no-untyped-def]
    with running_service(db, db_url, store) as service:
        yield service


def paid_woo_order(store, email: str, amount: str, code: str | None = None) -> int:  # type: ignore[no-untyped-def]
    customer = store.add_customer(email)
    order_id = store.place_order(customer, email, amount)
    if code is not None:  # as WooCommerce records an applied coupon: lower-cased
        with store._lock:
            store.orders[order_id]["coupon_lines"] = [{"id": order_id + 1000, "code": code.lower(), "discount": "10.00",
                                                      "discount_tax": "0.00", "meta_data": []}]
    store.set_status(order_id, "processing")
    return order_id


def test_woocommerce_friend_coupon_order_pending_credit_and_refund(woo, store):  # type: ignore[no-untyped-def]
    key, secret = store.add_keys()
    shop_id = connect_store(woo.runtime, store.url, key, secret).shop_id
    set_referrals(woo.runtime, shop_id, pending_days=7, referrer_points=300, review_same_ip=False)
    paid_woo_order(store, "ann@example.com", "40.00")
    woo.work()
    with woo.runtime.db.read() as conn:
        from integration.db.tables import members
        referrer = conn.execute(select(members.c.id).where(members.c.email == "ann@example.com")).scalar_one()
    link = link_of(woo.runtime, shop_id, referrer)
    # when a friend asks for a code
    status, code = ask_code(woo.session, woo.base_url, link, "Bob@Example.com")
    # then a single-use coupon restricted to the friend's email exists in the store
    coupon = store.coupon_by_code(code)
    assert status == 200 and coupon is not None
    assert (coupon["discount_type"], coupon["amount"], coupon["usage_limit"], coupon["email_restrictions"]) == (
        "fixed_cart", "10", 1, ["bob@example.com"])
    assert re.search(rf'href="{re.escape(store.url)}/\?coupon={code.lower()}"', woo.session.post(
        f"{woo.base_url}/r/{link}", data={"email": "bob@example.com"}, timeout=10).text)
    # when the friend's order using it is paid
    order_id = paid_woo_order(store, "bob@example.com", "60.00", code)
    woo.work()
    (row,) = referral_rows(woo.runtime)
    assert (row.status, row.order_id) == ("pending", str(order_id))
    # then the referrer is credited once, after the pending period
    later = datetime.now(timezone.utc) + timedelta(days=7, minutes=5)
    assert referrals_job(woo.runtime, shop_id, later).changed == 1
    assert referrals_job(woo.runtime, shop_id, later + timedelta(days=1)).changed == 0
    assert referral_entries(woo.runtime) == [(f"referral:{row.id}", 300)]
    # and refunding the friend's whole order takes it back
    store.refund(order_id, "60.00")
    woo.work()
    assert referral_entries(woo.runtime) == [(f"referral:{row.id}", 300), (f"referral:{row.id}:reverse", -300)]
    assert referral_rows(woo.runtime)[0].status == "reversed"
