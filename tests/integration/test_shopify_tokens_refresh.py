"""Expiring offline tokens: refreshed before a store call, once, under the shop's row lock; a
refused refresh marks the shop `needs_reauth` and no store call is made."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from integration.db.tables import outbox, shops
from integration.outbox import enqueue
from integration.ports import StoreAuthError
from integration.shops import shop_access
from tests.fake_shopify import fake_shopify, shopify_service  # noqa: F401

SHOP = "refresh.myshopify.com"


def token_calls(fake) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r.body for r in fake.requests if r.path.endswith("/admin/oauth/access_token")]


def stored(service, shop_id: int):  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        row = conn.execute(select(shops).where(shops.c.id == shop_id)).one()
        return row, dict(shop_access(conn, service.runtime.box, shop_id).credentials)


def access(service, shop_id: int):  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return service.runtime.access(conn, shop_id)


def test_a_valid_token_is_used_as_it_is(shopify_service):  # type: ignore[no-untyped-def]
    shop_id = shopify_service.install(SHOP)
    _, before = stored(shopify_service, shop_id)
    shopify_service.runtime.clock.now += timedelta(minutes=58)
    assert access(shopify_service, shop_id).credentials == before
    assert token_calls(shopify_service.fake) == []


def test_an_expiring_token_is_refreshed_and_the_new_pair_saved(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    _, before = stored(service, shop_id)
    # when the token is within a minute of expiry
    service.runtime.clock.now += timedelta(minutes=59, seconds=30)
    fresh = access(service, shop_id)
    # then it was refreshed with the refresh token, and both new tokens are stored
    assert token_calls(fake) == [{"client_id": fake.client_id, "client_secret": fake.client_secret,
                                  "grant_type": "refresh_token", "refresh_token": before["refresh_token"]}]
    row, after = stored(service, shop_id)
    assert fresh.credentials == after
    assert after["access_token"] != before["access_token"] and after["refresh_token"] != before["refresh_token"]
    assert after["refresh_token"] in fake.shop(SHOP).refresh_tokens
    assert row.token_expires_at.replace(tzinfo=None) == (service.runtime.clock() + timedelta(hours=1)).replace(tzinfo=None)
    assert row.status == "active"


def test_concurrent_callers_refresh_once(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    service.runtime.clock.now += timedelta(hours=2)
    refresh = service.runtime.token_refreshers["shopify"]

    def slow_refresh(domain: str, refresh_token: str):  # type: ignore[no-untyped-def]
        time.sleep(0.3)  # the other caller arrives while this one holds the lock
        return refresh(domain, refresh_token)

    service.runtime.token_refreshers = {"shopify": slow_refresh}
    start, results, errors = threading.Barrier(2), [], []

    def worker() -> None:
        start.wait()
        try:
            results.append(access(service, shop_id).credentials["access_token"])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(token_calls(fake)) == 1  # a refresh token works once: a second call would have been refused
    assert results[0] == results[1] == stored(service, shop_id)[1]["access_token"]


def test_a_refused_refresh_marks_the_shop_and_makes_no_call(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    with service.runtime.db.write() as conn:
        enqueue(conn, shop_id, "tag_customer", {"customer_id": "7", "add": ["loyalty:gold"], "remove": []},
                dedupe_key="tags:7", now=service.runtime.clock())
    fake.shop(SHOP).refresh_tokens.clear()  # e.g. the refresh token expired (90 days unused)
    service.runtime.clock.now += timedelta(hours=2)
    # when the outbox runner wants to call the store
    service.runtime.outbox_runner().run_due(service.runtime.clock())
    # then the refresh was refused, the shop needs re-authorisation and nothing reached the API
    row, _ = stored(service, shop_id)
    assert row.status == "needs_reauth"
    assert len(token_calls(fake)) == 1 and fake.graphql_calls() == []
    with service.runtime.db.read() as conn:
        write = conn.execute(select(outbox)).one()
    assert (write.status, write.last_error) == ("failed", "Shopify refresh.myshopify.com refused the grant: HTTP 400 grant refused")
    # and later calls are refused without asking Shopify again
    with pytest.raises(StoreAuthError):
        access(service, shop_id)
    service.runtime.outbox_runner().run_due(service.runtime.clock())
    assert len(token_calls(fake)) == 1 and fake.graphql_calls() == []


def test_a_non_expiring_token_is_never_refreshed(shopify_service):  # type: ignore[no-untyped-def]
    shop_id = shopify_service.install(SHOP, expires=False)
    shopify_service.runtime.clock.now += timedelta(days=400)
    assert access(shopify_service, shop_id).credentials["access_token"]
    assert token_calls(shopify_service.fake) == []
