"""Reconciliation against the fake store: orders read back through GraphQL are applied through
the webhook path, exactly once, and the cursor moves; `loyalty jobs run reconcile` runs it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from integration.cli import main
from integration.db.tables import ledger_entries, shops
from scheduler.reconcile import OVERLAP, ReconcileResult, reconcile_shop
from tests.fake_shopify import (  # noqa: F401
    fake_shopify,
    graphql_order,
    graphql_refund,
    service_settings,
    shopify_service,
)

SHOP = "sync.myshopify.com"
ORDER = (Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "orders_paid.json").read_bytes()


def ledger(service) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return [tuple(r) for r in conn.execute(
            select(ledger_entries.c.source_key, ledger_entries.c.points).order_by(ledger_entries.c.id))]


def last_sync(service, shop_id: int) -> datetime:  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        value = conn.execute(select(shops.c.last_sync_at).where(shops.c.id == shop_id)).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def stock_the_store(fake) -> None:  # type: ignore[no-untyped-def]
    fake.add_order(SHOP, graphql_order(501, 7, "40.00", updated_at="2026-02-20T10:00:00Z"))
    fake.add_order(SHOP, graphql_order(502, 8, "100.00", updated_at="2026-02-21T10:00:00Z", status="PARTIALLY_REFUNDED",
                                       refunds=[graphql_refund(901, 502, "25.00", "2026-02-22T10:00:00Z")]))
    fake.add_order(SHOP, graphql_order(503, 7, "30.00", updated_at="2026-02-23T10:00:00Z", status="PENDING",
                                       cancelled_at="2026-02-23T10:00:00Z"))  # cancelled before payment
    fake.add_order(SHOP, graphql_order(499, 9, "10.00", updated_at="2025-11-01T10:00:00Z"))  # older than 60 days


def test_orders_missed_by_webhooks_are_applied_once(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    stock_the_store(fake)
    now = service.runtime.clock()
    # when reconciliation first runs (60 days back)
    result = reconcile_shop(service.runtime, shop_id, now)
    # then every paid order earned, the refund took back its share, the unpaid cancel did nothing
    assert result == ReconcileResult(orders_seen=3, events_applied=3)
    assert sorted(ledger(service)) == sorted([
        ("signup:7", 50), ("order:501:earn", 40), ("signup:8", 50), ("order:502:earn", 100),
        ("refund:502:901", -25)])
    assert last_sync(service, shop_id) == now - OVERLAP
    # when it runs again later, the orders it reads (none changed) change nothing
    service.runtime.clock.now += timedelta(minutes=15)
    again = reconcile_shop(service.runtime, shop_id, service.runtime.clock())
    assert again == ReconcileResult(0, 0)
    assert len(ledger(service)) == 5


def test_an_order_seen_by_webhook_and_reconciliation_earns_once(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    service.deliver("orders/paid", ORDER, shop=SHOP)
    service.work()
    fake.add_order(SHOP, graphql_order(1073459981, 1073339475, "181.09", updated_at="2026-02-28T10:00:00Z"))
    result = reconcile_shop(service.runtime, shop_id, service.runtime.clock())
    assert result == ReconcileResult(orders_seen=1, events_applied=1)
    assert ledger(service) == [("signup:1073339475", 50), ("order:1073459981:earn", 181)]


def test_an_uninstalled_shop_is_not_read(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    stock_the_store(fake)
    with service.runtime.db.write() as conn:
        conn.execute(shops.update().where(shops.c.id == shop_id).values(status="uninstalled", credentials=""))
    assert reconcile_shop(service.runtime, shop_id, service.runtime.clock()) == ReconcileResult(0, 0)
    assert fake.requests == []


def test_cli_runs_reconcile_for_a_shop(shopify_service, tmp_path, monkeypatch, db_url):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    stock_the_store(fake)
    settings = service_settings(db_url, fake)
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "{settings.server.secret_key}"\n[database]\nurl = "{db_url}"\n'
                      f'[shopify]\napi_key = "{fake.client_id}"\napi_secret = "{fake.client_secret}"\n'
                      f'admin_url = "{fake.admin_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    result = CliRunner().invoke(main, ["jobs", "run", "reconcile", "--shop", SHOP, "--now", "2026-03-01T12:00:00+00:00"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"shop {shop_id}: 3 orders seen, 3 events applied"
    assert last_sync(service, shop_id) == datetime(2026, 3, 1, 11, 55, tzinfo=timezone.utc)
