"""Reward codes written into the fake store through the outbox: the exact request, the waits
Shopify announces when it throttles or fails, and never a code created twice."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from integration.db.tables import members, outbox, outbox_attempts, redemptions
from integration.redemption import redeem
from tests.fake_shopify import THROTTLE_WAIT, fake_shopify, shopify_service  # noqa: F401

SHOP = "writes.myshopify.com"
ORDER = (Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "orders_paid.json").read_bytes()


def redeem_r200(service) -> int:  # type: ignore[no-untyped-def]
    """A member with 231 points (the fixture order) redeems the $5 reward; the code is queued."""
    shop_id = service.install(SHOP)
    service.deliver("orders/paid", ORDER, shop=SHOP)
    service.work()
    with service.runtime.db.write() as conn:
        member_id = conn.execute(select(members.c.id)).scalar_one()
        return redeem(conn, shop_id, member_id, "r200", service.runtime.clock()).id


def redemption(service, redemption_id: int):  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return conn.execute(select(redemptions).where(redemptions.c.id == redemption_id)).one()


def test_the_code_is_single_use_for_the_member_for_30_days(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    redemption_id = redeem_r200(service)
    service.work()
    issued = redemption(service, redemption_id)
    [call] = fake.graphql_calls("discountCodeBasicCreate")
    sent = call.variables["basicCodeDiscount"]
    assert sent["code"] == issued.code
    assert sent["context"] == {"customers": {"add": ["gid://shopify/Customer/1073339475"]}}
    assert (sent["usageLimit"], sent["appliesOncePerCustomer"]) == (1, True)
    assert datetime.fromisoformat(sent["endsAt"]) - datetime.fromisoformat(sent["startsAt"]) == timedelta(days=30)
    assert sent["customerGets"] == {"value": {"discountAmount": {"amount": "5", "appliesOnEachItem": False}},
                                    "items": {"all": True}}
    assert (issued.status, issued.remote_id) == ("issued", fake.shop(SHOP).discounts[issued.code]["id"])


def test_throttled_and_failing_calls_wait_as_announced(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    redemption_id = redeem_r200(service)
    fake.fail_next(1, "throttled")
    fake.fail_next(1, "429")
    fake.fail_next(1, "503")
    service.work()
    # then each wait is the one announced: the bucket refill, Retry-After, then backoff
    assert service.waits == [THROTTLE_WAIT, 1.0, 4.0]
    assert len(fake.graphql_calls("discountCodeBasicCreate")) == 4
    assert list(fake.shop(SHOP).discounts) == [redemption(service, redemption_id).code]
    assert redemption(service, redemption_id).status == "issued"


def test_a_lost_answer_does_not_create_the_code_twice(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    redemption_id = redeem_r200(service)
    fake.fail_next(1, "503", after_applying=True)  # created, but the answer never arrives
    service.work()
    issued = redemption(service, redemption_id)
    assert [c.operation for c in fake.graphql_calls()] == [
        "discountCodeBasicCreate", "discountCodeBasicCreate", "codeDiscountNodeByCode"]
    assert list(fake.shop(SHOP).discounts) == [issued.code]
    assert (issued.status, issued.remote_id) == ("issued", fake.shop(SHOP).discounts[issued.code]["id"])


def test_a_store_down_for_longer_is_retried_by_the_outbox(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    redemption_id = redeem_r200(service)
    fake.fail_next(4, "503")
    service.work()
    # then the client gave up after its attempts and the outbox scheduled a later try
    with service.runtime.db.read() as conn:
        row = conn.execute(select(outbox)).one()
        attempts = conn.execute(select(outbox_attempts.c.outcome)).scalars().all()
    assert (row.status, attempts, redemption(service, redemption_id).status) == ("pending", ["retry"], "pending")
    assert row.next_attempt_at.replace(tzinfo=None) == (service.runtime.clock() + timedelta(seconds=10)).replace(tzinfo=None)
    assert fake.shop(SHOP).discounts == {}
    # when the store is back and the time has come
    service.runtime.clock.now += timedelta(seconds=10)
    service.work()
    # then the code is created once and the redemption issued
    assert len(fake.shop(SHOP).discounts) == 1
    assert redemption(service, redemption_id).status == "issued"


def test_the_fake_store_catches_a_request_outside_the_contract():  # type: ignore[no-untyped-def]
    import requests

    from tests.fake_shopify import FakeShopify
    fake = FakeShopify().start()
    try:
        token = fake.grant_token(SHOP)["access_token"]
        answer = requests.post(f"{fake.base_url}/{SHOP}/admin/api/2026-10/graphql.json", timeout=10,
                               headers={"X-Shopify-Access-Token": token},
                               json={"query": "mutation { discountCodeBasicCreate(code: \"X\") { id } }"})
    finally:
        fake.stop()
    assert answer.status_code == 200 and answer.json()["errors"]
    assert fake.problems and all(p.startswith("discountCodeBasicCreate: ") for p in fake.problems)
