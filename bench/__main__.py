"""Benchmarks, run on demand (`make bench` or `python -m bench`); they print figures, assert nothing.

- rule evaluations/s: `points_for_order` over generated orders (pure, one core);
- worker orders/s: signed Shopify `orders/paid` deliveries already in the inbox, drained by one
  worker (parse with the real adapter → rules → one transaction per event), SQLite and PostgreSQL;
- ingest deliveries/s: signed deliveries POSTed over loopback to the real Flask app served by
  gunicorn, answered only after the raw body is stored.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from random import Random

import requests
from sqlalchemy import create_engine, text

from integration.crypto import SecretBox
from integration.db import Database
from integration.db.migrate import upgrade
from integration.events import Amounts, Customer, OrderPaid
from integration.program import Campaign, Program, Tier
from integration.rules.points import points_for_order
from integration.shops import add_shop
from webhooks.inbox import Worker, store_delivery

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "shopify" / "orders_paid.json"
SECRET = "bench-secret"
PG_ADMIN = os.environ.get("LOYALTY_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def bench_rules(count: int) -> float:
    random = Random(7)
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    program = Program(tiers=(Tier("Red", Decimal(0)), Tier("Gold", Decimal(500), Decimal("1.5"))),
                      campaigns=(Campaign("bf", "Black Friday", Decimal(2), now, now.replace(month=7)),))
    orders = [OrderPaid(order_id=str(i), customer=Customer(str(i % 1000)), paid_at=now, currency="USD",
                        amounts=Amounts(merchandise=Decimal(random.randint(100, 50_000)) / 100,
                                        shipping=Decimal("4.99"), taxes=Decimal("1.23")))
              for i in range(count)]
    started = time.perf_counter()
    total = 0
    for order in orders:
        result = points_for_order(order, program, tier="Gold", plan_ids=())
        total += getattr(result, "points", 0)
    elapsed = time.perf_counter() - started
    return count / elapsed


def order_bodies(count: int) -> list[tuple[str, bytes]]:
    template = json.loads(FIXTURE.read_bytes())
    bodies = []
    for index in range(count):
        order = dict(template, id=10_000_000 + index,
                     admin_graphql_api_id=f"gid://shopify/Order/{10_000_000 + index}")
        order["customer"] = dict(template["customer"], id=20_000_000 + index % 500)
        bodies.append((str(uuid.uuid4()), json.dumps(order).encode()))
    return bodies


def headers_for(delivery_id: str, body: bytes, domain: str) -> dict[str, str]:
    import base64
    import hashlib
    import hmac
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-Shopify-Topic": "orders/paid", "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Shop-Domain": domain,
            "X-Shopify-Webhook-Id": delivery_id, "Content-Type": "application/json"}


class TempDatabase:
    """A fresh migrated database: a SQLite file or a PostgreSQL database, dropped afterwards."""

    def __init__(self, backend: str):
        self.backend = backend
        self.directory = tempfile.mkdtemp(prefix="loyalty-bench-")
        if backend == "sqlite":
            self.url = f"sqlite:///{self.directory}/bench.db"
        else:
            self.name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
            with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        self.db = Database(self.url, pool_size=20)
        upgrade(self.db)
        with self.db.write() as conn:
            self.shop_id = add_shop(conn, SecretBox("", "bench"), platform="shopify", domain="bench.myshopify.com",
                                    now=datetime.now(timezone.utc), webhook_secret=SECRET)

    def close(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.backend != "sqlite":
            with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def bench_worker(backend: str, count: int) -> float:
    from adapters.shopify import ShopifyPlatform
    from integration.events import Delivery
    temp = TempDatabase(backend)
    try:
        now = datetime.now(timezone.utc)
        for index, (delivery_id, body) in enumerate(order_bodies(count), 1):
            store_delivery(temp.db, shop_id=temp.shop_id, platform="shopify",
                           delivery=Delivery(delivery_id, "orders/paid"), headers={}, body=body, now=now)
            if index % 500 == 0 or index == count:
                progress(f"{backend}: filling inbox", index, count)
        worker = Worker(temp.db, {"shopify": ShopifyPlatform()}, batch_size=100)
        started = time.perf_counter()
        done = 0
        while batch := worker.run_once(datetime.now(timezone.utc)):
            done += batch
            progress(f"{backend}: worker", done, count)
        return count / (time.perf_counter() - started)
    finally:
        temp.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_ingest(backend: str, count: int, clients: int = 8) -> tuple[float, float]:
    temp = TempDatabase(backend)
    port = free_port()
    env = {**os.environ, "LOYALTY_DATABASE__URL": temp.url, "LOYALTY_SERVER__SECRET_KEY": "bench",
           "LOYALTY_SERVER__WORKER_THREAD": "false", "LOYALTY_SHOPIFY__API_SECRET": SECRET}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "integration.wsgi:app"], cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        bodies = order_bodies(count)
        sessions = [requests.Session() for _ in range(clients)]
        latencies: list[float] = []

        def send(index: int) -> int:
            delivery_id, body = bodies[index]
            started = time.perf_counter()
            status = sessions[index % clients].post(f"{base}/webhooks/shopify", data=body, timeout=30,
                                                    headers=headers_for(delivery_id, body, "bench.myshopify.com")).status_code
            latencies.append(time.perf_counter() - started)
            return status

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            statuses = list(pool.map(send, range(count)))
        elapsed = time.perf_counter() - started
        assert statuses.count(200) == count, f"not every delivery was stored: {set(statuses)}"
        latencies.sort()
        return count / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        temp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=200_000, help="orders for the rule benchmark")
    parser.add_argument("--orders", type=int, default=3_000, help="deliveries for worker and ingest")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"rule evaluations/s: {bench_rules(args.rules):,.0f}  ({args.rules:,} orders)")
    for backend in args.databases.split(","):
        print(f"worker orders/s [{backend}]: {bench_worker(backend, args.orders):,.0f}  ({args.orders:,} orders, 1 worker)")
        rate, p99 = bench_ingest(backend, args.orders)
        print(f"ingest deliveries/s [{backend}]: {rate:,.0f}  (p99 ack {p99:.1f} ms, gunicorn 2×4, 8 clients)")


if __name__ == "__main__":
    main()
