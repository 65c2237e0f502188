"""A WooCommerce store, end to end: a real `loyalty serve` process, the real adapter, a fake store
on loopback that signs and delivers its own webhooks, and the operator's CLI as subprocesses.

Connect with pasted keys → webhooks created and pinged → a paid order earns → a redemption writes
a coupon into the store → a refund takes back exactly its share → with webhooks off, orders are
found by reconciliation, once."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from click.testing import CliRunner

from integration.cli import main
from integration.db.tables import ledger_entries
from tests.fake_woocommerce import running_store

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    with running_store() as store:
        yield store


@pytest.fixture
def server(db_url, tmp_path):  # type: ignore[no-untyped-def]
    """`loyalty serve` in its own process; yields (base URL, environment for CLI subprocesses)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE__URL=db_url, LOYALTY_SERVER__PORT=str(port), LOYALTY_SERVER__BASE_URL=base_url,
               LOYALTY_SERVER__SECRET_KEY="e2e-secret-key", LOYALTY_SCHEDULER__WORKER_POLL_SECONDS="0.1",
               LOYALTY_SCHEDULER__ENABLED="false",  # reconciliation is run by hand below
               PYTHONPATH=str(ROOT))
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "integration.cli", "serve"], cwd=tmp_path, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield base_url, env
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def loyalty_process(env: dict[str, str], *args: str) -> str:
    """The CLI as its own process, as an operator runs it."""
    result = subprocess.run([sys.executable, "-m", "integration.cli", *args], env=env, capture_output=True,
                            text=True, timeout=60, cwd=env["PYTHONPATH"])
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def loyalty(server, monkeypatch):  # type: ignore[no-untyped-def]
    """The same CLI and configuration, run in this process (a process start costs a second)."""
    for name, value in server[1].items():
        if name.startswith("LOYALTY_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("LOYALTY_CONFIG", raising=False)

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output
    return run


def wait_for(read, expected, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_woocommerce_store_end_to_end(server, store, db, loyalty):  # type: ignore[no-untyped-def]
    base_url, env = server
    # connect with pasted keys: checked, saved, webhooks created (each pinged, answered 200)
    consumer_key, consumer_secret = store.add_keys()
    added = loyalty_process(env, "shop", "add", "woocommerce", "--url", store.url, "--consumer-key", consumer_key,
                            "--consumer-secret", consumer_secret)
    shop_id = added.split("\n")[0].split()[1]
    assert f"shop {shop_id} added: {store.url}" in added
    delivery_url = f"{base_url}/webhooks/woocommerce/{shop_id}"
    assert len(store.ours(delivery_url)) == 5
    assert [(d.url, d.status) for d in store.pings()] == [(delivery_url, 200)] * 5
    api_key = loyalty("api-key", "create", "--shop", shop_id).strip().splitlines()[-1]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {api_key}"

    def member() -> dict | None:
        found = api.get(f"{base_url}/api/v1/members", params={"customer_id": str(ada)}, timeout=5).json()["members"]
        return found[0] if found else None

    def points() -> int | None:
        found = member()
        return found["points"] if found else None

    # a paid order (processing, then completed twice) earns once: 50 signup + 250
    ada = store.add_customer("ada@example.com")
    order = store.place_order(ada, "ada@example.com", "250.00")
    store.set_status(order, "processing")
    assert wait_for(points, 300) == 300
    store.set_status(order, "completed")
    store.set_status(order, "completed")
    updates = [d for d in store.deliveries if not d.ping and d.topic == "order.updated"]
    assert [d.status for d in updates] == [200, 200, 200]
    assert wait_for(lambda: api.get(f"{base_url}/api/v1/events", params={"status": "pending"},
                                    timeout=5).json()["events"], []) == []
    assert points() == 300

    # a redemption debits 200 and writes a single-use coupon for Ada into the store
    member_id = member()["id"]

    def redeem() -> dict:
        """The same Idempotency-Key returns the first redemption, as it is now. It may still be
        `pending` when the server's background runner, not this request, is writing the code."""
        answer = api.post(f"{base_url}/api/v1/members/{member_id}/redemptions", json={"reward_id": "r200"},
                          headers={"Idempotency-Key": "e2e-1"}, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    assert redeem()["status"] in ("pending", "issued")
    assert wait_for(lambda: redeem()["status"], "issued") == "issued"
    redemption = redeem()
    assert points() == 100
    coupon = store.coupon_by_code(redemption["code"])
    assert coupon is not None and coupon["code"] == redemption["code"].lower()
    assert (coupon["discount_type"], coupon["amount"]) == ("fixed_cart", "5")
    assert coupon["email_restrictions"] == ["ada@example.com"]
    assert (coupon["usage_limit"], coupon["usage_limit_per_user"]) == (1, 1)
    expires = datetime.fromisoformat(coupon["date_expires_gmt"]).replace(tzinfo=UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)

    # a refund of 100 of the 250 takes back exactly 100 points
    store.refund(order, "100.00")
    assert wait_for(points, 0) == 0

    # webhooks off: two new orders are found by reconciliation, once
    store.set_webhook_status("disabled")
    bob = store.add_customer("bob@example.com")
    second, third = store.place_order(ada, "ada@example.com", "40.00"), store.place_order(bob, "bob@example.com", "60.00")
    store.set_status(second, "processing")
    store.set_status(third, "completed")
    delivered = len(store.deliveries)
    loyalty("jobs", "run", "reconcile", "--shop", shop_id)
    assert points() == 40
    with db.read() as conn:
        credited = dict(conn.execute(select(ledger_entries.c.source_key, ledger_entries.c.points)
                                     .where(ledger_entries.c.source_key.like("order:%"))).fetchall())
        total = conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one()
    assert credited == {f"order:{order}:earn": 250, f"order:{second}:earn": 40, f"order:{third}:earn": 60}
    assert total == 50 + 250 - 200 - 100 + 40 + 50 + 60
    loyalty("jobs", "run", "reconcile", "--shop", shop_id)
    with db.read() as conn:
        assert conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one() == total
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one() == 7
    assert len(store.deliveries) == delivered
