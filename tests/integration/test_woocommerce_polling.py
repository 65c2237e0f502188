"""WooCommerce never retries a webhook: polling (`loyalty jobs run reconcile`) is the guarantee,
and `loyalty jobs run repair-webhooks` brings disabled webhooks back and tells the merchant."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from integration.cli import main
from integration.db.tables import ledger_entries, members, shop_notices
from integration.shops import create_api_key
from integration.web.woocommerce_app import connect_store
from tests.fake_woocommerce import PUBLIC_URL
from tests.fake_woocommerce import service, store  # noqa: F401 - fixtures


@pytest.fixture
def shop_id(service, store):  # type: ignore[no-untyped-def]
    key, secret = store.add_keys()
    return connect_store(service.runtime, store.url, key, secret).shop_id


@pytest.fixture
def loyalty(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "woo-test-secret"\nbase_url = "{PUBLIC_URL}"\n'
                      f'[database]\nurl = "{db_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))

    def run(*args: str, ok: bool = True) -> list[str]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return [line for line in result.output.splitlines() if line.startswith("shop ")]
    return run


def ledger(db) -> list:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return conn.execute(select(ledger_entries.c.source_key, ledger_entries.c.points)
                            .order_by(ledger_entries.c.source_key)).fetchall()


def balances(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return dict(conn.execute(select(members.c.customer_id, members.c.balance)).fetchall())


def test_orders_missed_while_webhooks_were_off_are_credited_once_by_reconcile(service, store, shop_id, loyalty, db):  # type: ignore[no-untyped-def]
    # given webhooks the store has disabled, and two orders paid meanwhile (one later refunded in part)
    store.set_webhook_status("disabled")
    ada, bob = store.add_customer("ada@example.com"), store.add_customer("bob@example.com")
    first = store.place_order(ada, "ada@example.com", "80.00")
    second = store.place_order(bob, "bob@example.com", "45.50")
    store.set_status(first, "processing")
    store.set_status(second, "completed")
    store.refund(first, "20.00")
    draft = store.place_order(bob, "bob@example.com", "999.00", status="checkout-draft")
    assert [d for d in store.deliveries if not d.ping] == [] and ledger(db) == []
    # when reconciliation runs
    output = loyalty("jobs", "run", "reconcile", "--shop", str(shop_id))
    # then both orders are credited, the refund taken back, the draft ignored
    assert output == [f"shop {shop_id}: 3 orders seen, 3 events applied"]
    assert ledger(db) == [
        (f"order:{first}:earn", 80), (f"order:{second}:earn", 45),
        (f"refund:{first}:{store.orders[first]['refunds'][0]['id']}", -20),
        (f"signup:{ada}", 50), (f"signup:{bob}", 50)]
    assert balances(db) == {str(ada): 110, str(bob): 95}
    assert draft in store.orders
    # when it runs again, nothing more is credited
    loyalty("jobs", "run", "reconcile", "--shop", str(shop_id))
    assert balances(db) == {str(ada): 110, str(bob): 95} and len(ledger(db)) == 5


def test_reconcile_reads_only_orders_changed_since_the_last_run(service, store, shop_id, loyalty, db):  # type: ignore[no-untyped-def]
    # given a first run
    ada = store.add_customer("ada@example.com")
    store.set_status(store.place_order(ada, "ada@example.com", "10.00"), "processing")
    loyalty("jobs", "run", "reconcile", "--shop", str(shop_id))
    asked = [entry.params.get("modified_after") for entry in store.requests_log if entry.path.endswith("/orders")]
    # when it runs again
    loyalty("jobs", "run", "reconcile", "--shop", str(shop_id))
    # then the second run asks from the first run's time (minus an overlap), not from the start
    again = [entry.params.get("modified_after") for entry in store.requests_log if entry.path.endswith("/orders")]
    assert len(again) == len(asked) + 1 and again[-1] > asked[0]
    assert all(entry.params.get("dates_are_gmt") == "true" for entry in store.requests_log if entry.path.endswith("/orders"))


def test_repair_recreates_disabled_webhooks_and_tells_the_merchant(service, store, shop_id, loyalty, db):  # type: ignore[no-untyped-def]
    # given WooCommerce disabled our order.updated webhook and a plugin paused order.deleted
    store.set_webhook_status("disabled", "order.updated")
    store.set_webhook_status("paused", "order.deleted")
    with db.write() as conn:
        key = create_api_key(conn, shop_id, service.runtime.clock())
    # when
    output = loyalty("jobs", "run", "repair-webhooks", "--shop", str(shop_id))
    # then
    assert output == [f"shop {shop_id}: order.updated recreated, order.deleted reactivated"]
    delivery_url = f"{PUBLIC_URL}/webhooks/woocommerce/{shop_id}"
    assert sorted((h["topic"], h["status"]) for h in store.ours(delivery_url)) == [
        ("customer.created", "active"), ("order.created", "active"), ("order.deleted", "active"),
        ("order.restored", "active"), ("order.updated", "active")]
    assert store.pings()[-1].topic == "order.updated" and store.pings()[-1].status == 200
    [notice] = service.api("GET", "/notices", key).json()["notices"]
    assert notice["kind"] == "webhooks_repaired" and notice["read_at"] is None
    assert "order.updated was disabled and is created again" in notice["message"]
    # and the repaired webhook delivers again
    ada = store.add_customer("ada@example.com")
    store.set_status(store.place_order(ada, "ada@example.com", "30.00"), "processing")
    service.work()
    assert balances(db) == {str(ada): 80}
    # when all is well, a second run changes nothing and adds no notice
    assert loyalty("jobs", "run", "repair-webhooks") == [f"shop {shop_id}: all webhooks active"]
    assert len(service.api("GET", "/notices", key).json()["notices"]) == 1
    assert service.api("POST", f"/notices/{notice['id']}/read", key).status_code == 200
    assert service.api("GET", "/notices?unread=true", key).json() == {"notices": []}


def test_repair_with_keys_the_store_refuses_leaves_a_notice(service, store, shop_id, loyalty, db):  # type: ignore[no-untyped-def]
    # given the merchant revoked our key
    store.keys.clear()
    # when
    loyalty("jobs", "run", "repair-webhooks", "--shop", str(shop_id), ok=False)
    loyalty("jobs", "run", "repair-webhooks", "--shop", str(shop_id), ok=False)
    # then one notice (not one per run), and the webhooks are untouched
    with db.read() as conn:
        rows = conn.execute(select(shop_notices.c.kind)).fetchall()
    assert [row.kind for row in rows] == ["store_auth"]
    assert len(store.webhooks) == 5


def test_repair_job_reports_what_it_changed_for_the_scheduler(service, store, shop_id):  # type: ignore[no-untyped-def]
    from scheduler.woocommerce_repair import repair_job
    # given the store deleted all our webhooks
    store.webhooks.clear()
    # when
    result = repair_job(service.runtime, shop_id, service.runtime.clock())
    # then
    assert (result.job, result.processed, result.changed) == ("repair-webhooks", 1, 5)
    assert result.notes == ["order.created created", "order.updated created", "order.deleted created",
                            "order.restored created", "customer.created created"]
    assert len(store.webhooks) == 5 and [d.status for d in store.pings()[-5:]] == [200] * 5
