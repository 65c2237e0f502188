"""Connecting a WooCommerce store: the /wc-auth/v1/authorize flow through the real HTTP server and a
fake store that approves, and pasted keys through `loyalty shop add woocommerce`."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from integration.cli import main
from integration.db.tables import shop_notices, shops
from tests.fake_woocommerce import PUBLIC_URL, running_service
from tests.fake_woocommerce import service, store  # noqa: F401 - fixtures


def connect(service, store_url: str):  # type: ignore[no-untyped-def]
    return service.session.get(f"{service.base_url}/woocommerce/connect", params={"store_url": store_url},
                               allow_redirects=False, timeout=10)


def local(service, public_url: str) -> str:  # type: ignore[no-untyped-def]
    return public_url.replace(PUBLIC_URL, service.base_url, 1)


def all_shops(db) -> list:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return conn.execute(select(shops.c.id, shops.c.platform, shops.c.domain, shops.c.status)).fetchall()


def notices(db) -> list:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return conn.execute(select(shop_notices.c.kind, shop_notices.c.message)).fetchall()


def test_connect_sends_the_merchant_to_the_store_with_our_state(service, store):  # type: ignore[no-untyped-def]
    # when the merchant types their store address, with a trailing slash and capitals
    answer = connect(service, store.url.upper().replace("HTTP://", "http://") + "/")
    # then they are sent to the store's authorize page
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == store.url + "/wc-auth/v1/authorize"
    assert query["scope"] == "read_write" and query["app_name"] == "loyalty-bridge"
    assert query["callback_url"] == f"{PUBLIC_URL}/woocommerce/callback"
    assert query["return_url"] == f"{PUBLIC_URL}/woocommerce/return"
    assert query["user_id"].count(".") == 2 and len(query["user_id"]) > 40  # a signed, timed token
    assert all_shops(service.runtime.db) == []


def test_approved_store_is_saved_with_encrypted_keys_and_webhooks(service, store, db):  # type: ignore[no-untyped-def]
    # given
    location = connect(service, store.url).headers["Location"]
    # when the merchant approves: the store POSTs the keys to our callback, then redirects back
    return_url = store.authorize(location)
    page = service.session.get(local(service, return_url), timeout=10)
    # then
    [shop] = all_shops(db)
    assert (shop.platform, shop.domain, shop.status) == ("woocommerce", store.url, "active")
    [consumer_key] = store.keys
    with db.read() as conn:
        raw = conn.execute(select(shops.c.credentials, shops.c.webhook_secret)).one()
    assert consumer_key not in raw.credentials and store.keys[consumer_key]["secret"] not in raw.credentials
    delivery_url = f"{PUBLIC_URL}/webhooks/woocommerce/{shop.id}"
    assert sorted(h["topic"] for h in store.ours(delivery_url)) == [
        "customer.created", "order.created", "order.deleted", "order.restored", "order.updated"]
    assert [d.status for d in store.pings()] == [200] * 5
    assert page.status_code == 200 and "Your store is connected" in page.text
    assert notices(db) == []


def test_webhooks_failing_after_the_keys_still_answers_200_and_keeps_the_keys(service, store, db):  # type: ignore[no-untyped-def]
    # given a store whose webhook endpoint breaks
    store.fail_next[("POST", "webhooks")] = 100
    location = connect(service, store.url).headers["Location"]
    # when
    return_url = store.authorize(location)
    page = service.session.get(local(service, return_url), timeout=10)
    # then the key is kept on both sides, and the merchant is told
    assert return_url.startswith(f"{PUBLIC_URL}/woocommerce/return?success=1")
    assert len(store.keys) == 1 and store.webhooks == {}
    assert [row.status for row in all_shops(db)] == ["active"]
    [(kind, message)] = notices(db)
    assert kind == "webhooks_failed" and "HTTP 500" in message
    assert page.status_code == 200 and "could not create our webhooks" in page.text


def test_callback_with_a_forged_state_saves_nothing(service, store, db):  # type: ignore[no-untyped-def]
    # given keys that work, but a state we never issued
    key, secret = store.add_keys()
    body = json.dumps({"key_id": 1, "user_id": "forged.state.value", "consumer_key": key,
                       "consumer_secret": secret, "key_permissions": "read_write"})
    # when
    answer = service.session.post(f"{service.base_url}/woocommerce/callback", data=body, timeout=10,
                                  headers={"Content-Type": "application/json"})
    # then WooCommerce deletes the key (not 200), and we kept nothing
    assert answer.status_code == 400
    assert all_shops(db) == [] and store.webhooks == {}


def test_keys_the_store_refuses_are_not_saved(service, store, db):  # type: ignore[no-untyped-def]
    # given a real state, for keys the store does not know
    query = parse_qs(urlsplit(connect(service, store.url).headers["Location"]).query)
    body = json.dumps({"key_id": 9, "user_id": query["user_id"][0], "consumer_key": "ck_" + "0" * 40,
                       "consumer_secret": "cs_" + "0" * 40, "key_permissions": "read_write"})
    # when
    answer = service.session.post(f"{service.base_url}/woocommerce/callback", data=body, timeout=10,
                                  headers={"Content-Type": "application/json"})
    # then
    assert answer.status_code == 400
    assert all_shops(db) == [] and store.webhooks == {}


def test_read_only_keys_are_refused_and_deleted_by_the_store(service, store, db):  # type: ignore[no-untyped-def]
    # given the merchant's authorize link asks for less than we need
    location = connect(service, store.url).headers["Location"].replace("scope=read_write", "scope=read")
    # when
    return_url = store.authorize(location)
    # then
    assert return_url == "" and store.keys == {}
    assert all_shops(db) == []


def test_denied_access_shows_a_failure_page(service, store):  # type: ignore[no-untyped-def]
    query = parse_qs(urlsplit(connect(service, store.url).headers["Location"]).query)
    page = service.session.get(f"{service.base_url}/woocommerce/return", timeout=10,
                               params={"success": "0", "user_id": query["user_id"][0]})
    assert page.status_code == 200 and "was not connected" in page.text
    assert service.session.get(f"{service.base_url}/woocommerce/return", timeout=10,
                               params={"success": "1", "user_id": "nope"}).status_code == 400


def test_connect_needs_an_https_base_url(db, db_url, store):  # type: ignore[no-untyped-def]
    with running_service(db, db_url, store, base_url="http://127.0.0.1:9") as service:
        answer = connect(service, store.url)
    assert answer.status_code == 503 and "https" in answer.text


# -- pasted keys -----------------------------------------------------------------------------

@pytest.fixture
def loyalty(service, db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The CLI with the service's configuration (same secret key, database and base URL)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "woo-test-secret"\nbase_url = "{PUBLIC_URL}"\n'
                      f'[database]\nurl = "{db_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))

    def run(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output
    return run


def test_pasted_keys_are_checked_and_webhooks_created(loyalty, store, db):  # type: ignore[no-untyped-def]
    key, secret = store.add_keys()
    output = loyalty("shop", "add", "woocommerce", "--url", store.url + "/", "--consumer-key", key,
                     "--consumer-secret", secret, "--currency", "EUR")
    [shop] = all_shops(db)
    assert f"shop {shop.id} added: {store.url}" in output.splitlines()
    assert len(store.ours(f"{PUBLIC_URL}/webhooks/woocommerce/{shop.id}")) == 5
    assert [d.status for d in store.pings()] == [200] * 5
    # connecting again re-uses the webhooks and gives them a new secret
    loyalty("shop", "add", "woocommerce", "--url", store.url, "--consumer-key", key, "--consumer-secret", secret)
    assert len(store.webhooks) == 5 and len(all_shops(db)) == 1
    with db.read() as conn:
        assert conn.execute(select(shops.c.currency)).scalar_one() == "EUR"


def test_pasted_keys_the_store_refuses_are_not_saved(loyalty, store, db):  # type: ignore[no-untyped-def]
    output = loyalty("shop", "add", "woocommerce", "--url", store.url, "--consumer-key", "ck_wrong",
                     "--consumer-secret", "cs_wrong", ok=False)
    assert "the keys were not saved" in output and "HTTP 401" in output
    assert all_shops(db) == [] and store.webhooks == {}
