"""The `loyalty` command line, run as an operator would (click's runner, a real database)."""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from integration.cli import main
from integration.web.bootstrap import build_runtime, create_app
from tests.fakes import FakePlatform


@pytest.fixture
def loyalty(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "cli-test"\n[database]\nurl = "{db_url}"\n'
                      '[shopify]\napi_secret = "hush"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output
    return run


def test_shop_add_list_and_api_key(loyalty):  # type: ignore[no-untyped-def]
    assert "no shops yet" in loyalty("shop", "list")
    loyalty("shop", "add", "shopify", "--domain", "Cli-Shop.myshopify.com", "--access-token", "shpat_x",
            "--api-secret", "s3cret", "--no-subscribe")
    loyalty("shop", "add", "woocommerce", "--url", "https://store.example/", "--consumer-key", "ck_1",
            "--consumer-secret", "cs_1", "--no-webhooks")
    listing = loyalty("shop", "list").splitlines()
    assert [line.split("\t")[1:3] for line in listing] == [["shopify", "cli-shop.myshopify.com"],
                                                           ["woocommerce", "https://store.example"]]
    key = loyalty("api-key", "create", "--shop", "cli-shop.myshopify.com").splitlines()[-1]
    assert key.startswith("lb_") and len(key) > 40
    assert "no shop 'nope'" in loyalty("api-key", "create", "--shop", "nope", ok=False)


def test_secrets_are_stored_encrypted(loyalty, db):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from integration.db.tables import shops
    loyalty("shop", "add", "shopify", "--domain", "enc.myshopify.com", "--access-token", "shpat_plain",
            "--api-secret", "plain-secret", "--no-subscribe")
    with db.read() as conn:
        row = conn.execute(select(shops.c.credentials, shops.c.webhook_secret)).one()
    assert "shpat_plain" not in row.credentials and "plain-secret" not in row.webhook_secret


def test_webhook_send_signs_and_posts_to_a_running_service(loyalty, db, tmp_path):  # type: ignore[no-untyped-def]
    from integration.config import load_settings
    loyalty("shop", "add", "shopify", "--domain", "send.myshopify.com", "--access-token", "t",
            "--api-secret", "shop-secret", "--no-subscribe")
    runtime = build_runtime(load_settings(), db=db)  # the same configuration as the command line
    server = make_server("127.0.0.1", 0, create_app(runtime), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    payload = tmp_path / "order.json"
    payload.write_bytes(b'{"id": 1}')
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        first = loyalty("webhook", "send", "--topic", "orders/paid", "--shop", "send.myshopify.com", "--url", url, str(payload))
        forged = loyalty("webhook", "send", "--topic", "orders/paid", "--shop", "send.myshopify.com", "--url", url,
                         "--secret", "wrong", str(payload), ok=False)
    finally:
        server.shutdown()
    assert first.strip() == '200 {"status":"stored"}'
    assert forged.startswith("401")


def test_events_list_and_replay(loyalty, db, clock):  # type: ignore[no-untyped-def]
    from integration.crypto import SecretBox
    from integration.events import Delivery
    from integration.shops import add_shop
    from webhooks.inbox import Worker, store_delivery
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "k"), platform="fake", domain="ev.example", now=clock())
    store_delivery(db, shop_id=shop_id, platform="fake", delivery=Delivery("d1", "order/paid"), headers={},
                   body=b"garbage", now=clock())
    Worker(db, {"fake": FakePlatform()}).drain(clock())
    failed = loyalty("events", "list", "--failed")
    assert "order/paid\tfailed" in failed and "unparseable payload" in failed
    event_id = failed.split("\t")[0]
    assert loyalty("events", "replay", event_id).strip() == f"event {event_id} queued again"
    assert loyalty("events", "list", "--failed").strip() == ""
    assert "give an event id or --failed" in loyalty("events", "replay", ok=False)


def test_bad_configuration_names_the_key(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text('[server]\nport = "x"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    result = CliRunner().invoke(main, ["shop", "list"])
    assert result.exit_code == 1
    assert "server.port: expected a number" in result.output and "server.secret_key: must be set" in result.output


def test_jobs_run_with_now_travels_in_time(loyalty, db):  # type: ignore[no-untyped-def]
    from datetime import date

    from sqlalchemy import select, update

    from integration.db.tables import ledger_entries, members
    from integration.program import default_program, program_to_dict
    from integration.redemption import update_program
    from integration.services import record_order_paid
    from integration.events import Amounts, Customer, OrderPaid
    from datetime import datetime, timezone
    from decimal import Decimal
    loyalty("shop", "add", "woocommerce", "--url", "https://bday.example", "--consumer-key", "ck",
            "--consumer-secret", "cs", "--no-webhooks")
    with db.write() as conn:
        update_program(conn, 1, dict(program_to_dict(default_program()), birthday_points=25), datetime.now(timezone.utc))
        record_order_paid(conn, 1, OrderPaid("o1", Customer("c1"), datetime(2026, 1, 1, tzinfo=timezone.utc), "USD",
                                             Amounts(merchandise=Decimal("10"))), datetime(2026, 1, 1, tzinfo=timezone.utc))
        conn.execute(update(members).values(birthday=date(2000, 3, 15)))
    before = loyalty("jobs", "run", "birthdays", "--shop", "1", "--now", "2026-03-14T12:00:00+00:00")
    on_the_day = loyalty("jobs", "run", "birthdays", "--shop", "1", "--now", "2026-03-15T12:00:00+00:00")
    again = loyalty("jobs", "run", "birthdays", "--shop", "1", "--now", "2026-03-15T18:00:00+00:00")
    assert (before.strip(), on_the_day.strip(), again.strip()) == (
        "birthdays shop 1: 0 looked at, 0 changed", "birthdays shop 1: 1 looked at, 1 changed",
        "birthdays shop 1: 1 looked at, 0 changed")
    with db.read() as conn:
        assert conn.execute(select(ledger_entries.c.points).where(ledger_entries.c.kind == "birthday")).scalars().all() == [25]
    assert "is not an ISO time" in loyalty("jobs", "run", "tiers", "--now", "yesterday", ok=False)
