"""Shopify webhooks through the real ingest endpoint and worker: header styles, the compliance
topics with Shopify's own sample payloads, and app/uninstalled stopping every store call."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from integration.db.tables import exports, ledger_entries, members, outbox, redemptions, shops
from integration.redemption import redeem
from tests.fake_shopify import fake_shopify, shopify_service  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
SHOP = "shop-name.myshopify.com"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def compliance(name: str) -> bytes:
    """Shopify's sample with its `{shop}` placeholder filled in."""
    return fixture(name).replace(b"{shop}.myshopify.com", SHOP.encode())


def order_for(customer_id: int, email: str) -> bytes:
    order = json.loads(fixture("orders_paid.json"))
    order["customer"].update(id=customer_id, email=email)
    order["email"] = email
    return json.dumps(order).encode()


def member(service, customer_id: str):  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return conn.execute(select(members).where(members.c.customer_id == customer_id)).first()


def balance(service, customer_id: str) -> int:  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return conn.execute(select(func.coalesce(func.sum(ledger_entries.c.points), 0)).select_from(
            ledger_entries.join(members)).where(members.c.customer_id == customer_id)).scalar_one()


def test_events_style_headers_without_x_prefix_are_accepted(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    service.install(SHOP)
    # when the delivery uses `Shopify-*` headers (Events preview), lower-cased on the wire
    body = fixture("orders_paid.json")
    response = service.deliver("orders/paid", body, shop=SHOP, prefix="shopify-")
    service.work()
    # then it is verified, stored and applied like any other
    assert response.status_code == 200 and response.json() == {"status": "stored"}
    assert balance(service, "1073339475") == 50 + 181
    # and a forged one with those headers is refused
    assert service.deliver("orders/paid", body, shop=SHOP, prefix="Shopify-", secret="wrong").status_code == 401


def test_redelivery_is_stored_once(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    service.install(SHOP)
    first = service.deliver("orders/paid", fixture("orders_paid.json"), shop=SHOP, delivery_id="w-1")
    again = service.deliver("orders/paid", fixture("orders_paid.json"), shop=SHOP, delivery_id="w-1")
    service.work()
    assert (first.json(), again.json()) == ({"status": "stored"}, {"status": "duplicate"})
    assert balance(service, "1073339475") == 231


def test_customers_data_request_exports_what_we_hold(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    shop_id = service.install(SHOP)
    service.deliver("orders/paid", order_for(191167, "john@example.com"), shop=SHOP)
    service.work()
    # when Shopify relays the customer's request
    response = service.deliver("customers/data_request", compliance("customers_data_request.json"), shop=SHOP)
    service.work()
    # then an export is kept for the merchant with the member, ledger and orders
    assert response.status_code == 200
    with service.runtime.db.read() as conn:
        export = conn.execute(select(exports)).one()
    assert (export.shop_id, export.customer_id, export.request_id) == (shop_id, "191167", "9999")
    assert export.data["member"]["email"] == "john@example.com"
    assert [(e["source_key"], e["points"]) for e in export.data["ledger"]] == [
        ("signup:191167", 50), ("order:1073459981:earn", 181)]
    assert [o["order_id"] for o in export.data["orders"]] == ["1073459981"]


def test_customers_redact_erases_personal_data_and_keeps_the_points(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    service.install(SHOP)
    service.deliver("orders/paid", order_for(191167, "john@example.com"), shop=SHOP)
    service.work()
    response = service.deliver("customers/redact", compliance("customers_redact.json"), shop=SHOP)
    service.work()
    assert response.status_code == 200
    redacted = member(service, "191167")
    assert (redacted.email, redacted.first_name, redacted.last_name, redacted.redacted) == (None, None, None, True)
    assert balance(service, "191167") == 231


def test_shop_redact_erases_the_shop(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    service.install(SHOP)
    service.install("other.myshopify.com")
    service.deliver("orders/paid", order_for(191167, "john@example.com"), shop=SHOP)
    service.work()
    response = service.deliver("shop/redact", compliance("shop_redact.json"), shop=SHOP)
    service.work()
    assert response.status_code == 200
    with service.runtime.db.read() as conn:
        remaining = conn.execute(select(shops.c.domain)).scalars().all()
        member_count = conn.execute(select(func.count()).select_from(members)).scalar_one()
    assert (remaining, member_count) == (["other.myshopify.com"], 0)


def test_compliance_webhook_with_a_bad_signature_gets_401(shopify_service):  # type: ignore[no-untyped-def]
    service = shopify_service
    service.install(SHOP)
    response = service.deliver("customers/redact", compliance("customers_redact.json"), shop=SHOP, secret="nope")
    assert response.status_code == 401


def test_after_app_uninstalled_no_call_reaches_the_store(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    service.deliver("orders/paid", fixture("orders_paid.json"), shop=SHOP)
    service.work()
    customer = member(service, "1073339475")
    # given a redemption whose code is not written yet
    with service.runtime.db.write() as conn:
        pending = redeem(conn, shop_id, customer.id, "r200", service.runtime.clock())
    # when the merchant uninstalls the app (Shopify revokes the token at once)
    fake.uninstall(SHOP)
    response = service.deliver("app/uninstalled", fixture("app_uninstalled__shop_resource.json"), shop=SHOP)
    service.work()
    # then the shop is marked, its credentials dropped, and no request reached the store
    assert response.status_code == 200
    with service.runtime.db.read() as conn:
        shop = conn.execute(select(shops).where(shops.c.id == shop_id)).one()
        write = conn.execute(select(outbox)).one()
        redemption = conn.execute(select(redemptions).where(redemptions.c.id == pending.id)).one()
    assert (shop.status, shop.credentials) == ("uninstalled", "")
    assert fake.graphql_calls() == []
    # and the pending code is given up with its points returned
    assert (write.status, redemption.status) == ("failed", "failed")
    assert balance(service, "1073339475") == 231
    # and a new redemption through the API is refused without taking points
    key = _api_key(service, shop_id)
    refused = service.session.post(f"{service.base_url}/api/v1/members/{customer.id}/redemptions",
                                   json={"reward_id": "r200"}, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert refused.status_code == 409
    assert refused.json() == {"error": "the shop is uninstalled: rewards cannot be redeemed until it is installed again"}
    assert balance(service, "1073339475") == 231
    assert fake.graphql_calls() == []


def _api_key(service, shop_id: int) -> str:  # type: ignore[no-untyped-def]
    from integration.shops import create_api_key
    with service.runtime.db.write() as conn:
        return create_api_key(conn, shop_id, service.runtime.clock())
