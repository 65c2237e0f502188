"""A worker process killed with SIGKILL mid-batch loses nothing and applies nothing twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from integration.crypto import SecretBox
from integration.db.tables import inbox, ledger_entries, members
from integration.events import Delivery
from integration.shops import add_shop
from tests.fakes import order_body
from webhooks.inbox import store_delivery

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 600


def start_worker(url: str, lease: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.worker_process", url, str(lease)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def count(db, status: str) -> int:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status == status)).scalar_one()


def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_sigkill_mid_batch_loses_nothing_and_applies_nothing_twice(db, db_url):  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc)
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "k"), platform="fake", domain="kill.example", now=now)
    # given 600 stored deliveries, 60 customers, order i worth i dollars (plus 3 re-deliveries each of 10)
    for index in range(1, ORDERS + 1):
        body = order_body(f"k{index}", f"c{index % 60}", f"{index}.00")
        copies = 2 if index % 60 == 0 else 1
        for copy in range(copies):
            store_delivery(db, shop_id=shop_id, platform="fake", delivery=Delivery(f"d{index}-{copy}", "order/paid"),
                           headers={}, body=body, now=now)
    # when a worker is killed in the middle of the work
    worker = start_worker(db_url, lease=1.0)
    try:
        assert wait_for(lambda: count(db, "done") >= 100, 60), "worker made no progress"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(10)
    done_at_kill = count(db, "done")
    assert done_at_kill < ORDERS + 10, "the kill came too late to be mid-batch"
    # and another worker picks up after the lease runs out
    worker = start_worker(db_url, lease=1.0)
    try:
        assert wait_for(lambda: count(db, "done") == ORDERS + 10, 120), "the work was not finished"
    finally:
        worker.terminate()
        worker.wait(10)
    # then every order was credited exactly once
    with db.read() as conn:
        total = conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one()
        entries = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()
        balances = conn.execute(select(func.sum(members.c.balance))).scalar_one()
    expected = 60 * 50 + sum(range(1, ORDERS + 1))
    assert (total, balances, entries) == (expected, expected, 60 + ORDERS)
    assert count(db, "failed") == 0
