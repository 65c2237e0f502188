"""`POST /webhooks/woocommerce/<shop id>` through the real HTTP server: the unsigned creation ping,
a signed delivery, a tampered one; then the fake store's own pings and deliveries."""
from __future__ import annotations

from sqlalchemy import func, select

from integration.db.tables import inbox, ledger_entries
from integration.web.woocommerce_app import connect_store, current_webhook_secret
from tests.fake_woocommerce import running_store, wc_signature
from tests.fake_woocommerce import service, store  # noqa: F401 - fixtures
from tests.woocommerce_contract import fixture_bytes


def shop_with_secret(service, **options):  # type: ignore[no-untyped-def]
    from integration.db import repo
    key, secret = service.store.add_keys()
    connected = connect_store(service.runtime, service.store.url, key, secret, **options)
    with service.runtime.db.read() as conn:
        return connected, current_webhook_secret(service.runtime, repo.shop_row(conn, connected.shop_id))


def stored(db) -> list:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return conn.execute(select(inbox.c.topic, inbox.c.body)).fetchall()


def post(service, shop_id, body, headers):  # type: ignore[no-untyped-def]
    return service.session.post(f"{service.base_url}/webhooks/woocommerce/{shop_id}", data=body,
                                headers=headers, timeout=10)


def signed_headers(secret: str, body: bytes, topic: str = "order.created") -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event, "X-WC-Webhook-ID": "31", "X-WC-Webhook-Delivery-ID": "a1b2c3",
            "X-WC-Webhook-Signature": wc_signature(secret, body)}


def test_unsigned_creation_ping_gets_200_and_stores_nothing(service, db):  # type: ignore[no-untyped-def]
    # given
    connected, _ = shop_with_secret(service, webhooks=False)
    # when
    answer = post(service, connected.shop_id, b"webhook_id=17", {"Content-Type": "application/x-www-form-urlencoded"})
    # then
    assert answer.status_code == 200
    assert stored(db) == []


def test_delivery_signed_over_the_raw_fixture_bytes_is_stored(service, db):  # type: ignore[no-untyped-def]
    # given
    connected, secret = shop_with_secret(service, webhooks=False)
    body = fixture_bytes("order_created_paid.v3.json")
    # when
    answer = post(service, connected.shop_id, body, signed_headers(secret, body))
    again = post(service, connected.shop_id, body, signed_headers(secret, body))
    # then
    assert (answer.status_code, answer.json()) == (200, {"status": "stored"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert stored(db) == [("order.created", body)]


def test_body_changed_by_one_byte_is_refused_and_nothing_is_stored(service, db):  # type: ignore[no-untyped-def]
    # given
    connected, secret = shop_with_secret(service, webhooks=False)
    body = fixture_bytes("order_created_paid.v3.json")
    tampered = body.replace(b'"total": "29.35"', b'"total": "99.35"', 1)
    assert len(tampered) == len(body) and sum(a != b for a, b in zip(body, tampered)) == 1
    # when
    answer = post(service, connected.shop_id, tampered, signed_headers(secret, body))
    # then
    assert answer.status_code == 401
    assert stored(db) == []


def test_signature_of_another_shop_is_refused(service, db):  # type: ignore[no-untyped-def]
    # given two shops with their own secrets
    first, _ = shop_with_secret(service, webhooks=False)
    with running_store() as other_store:
        key, secret = other_store.add_keys()
        second = connect_store(service.runtime, other_store.url, key, secret, webhooks=False)
    with service.runtime.db.read() as conn:
        from integration.db import repo
        second_secret = current_webhook_secret(service.runtime, repo.shop_row(conn, second.shop_id))
    body = fixture_bytes("order_created_paid.v3.json")
    # when the second shop's signature is sent to the first shop's URL
    answer = post(service, first.shop_id, body, signed_headers(second_secret, body))
    # then
    assert answer.status_code == 401
    assert stored(db) == []


def test_store_pings_each_new_webhook_and_delivers_signed_order_updates(service, db):  # type: ignore[no-untyped-def]
    # given a connected store with webhooks
    connected, _ = shop_with_secret(service)
    store = service.store
    assert [(d.topic, d.status) for d in store.pings()] == [
        ("order.created", 200), ("order.updated", 200), ("order.deleted", 200), ("order.restored", 200),
        ("customer.created", 200)]
    assert stored(db) == []
    customer = store.add_customer("ada@example.com")
    order = store.place_order(customer, "ada@example.com", "120.00")
    # when the order is paid, then completed
    store.set_status(order, "processing")
    store.set_status(order, "completed")
    service.work()
    # then every delivery was accepted, and the order earned once
    assert [(d.topic, d.status) for d in store.deliveries if not d.ping] == [
        ("order.created", 200), ("order.updated", 200), ("order.updated", 200)]
    with db.read() as conn:
        entries = conn.execute(select(ledger_entries.c.source_key, ledger_entries.c.points)
                               .order_by(ledger_entries.c.id)).fetchall()
        events = conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status == "done")).scalar_one()
    assert entries == [(f"signup:{customer}", 50), (f"order:{order}:earn", 120)]
    assert events == 3
