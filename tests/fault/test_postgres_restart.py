"""PostgreSQL restarts under load: deliveries get 503 while it is down, the sender retries as the
platforms do, and once it is back nothing is lost and nothing is credited twice."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from integration.config import build_settings
from integration.crypto import SecretBox
from integration.db import Database
from integration.db.migrate import upgrade
from integration.db.tables import inbox, ledger_entries, members
from integration.shops import add_shop
from integration.web.bootstrap import build_runtime, create_app
from tests.fakes import FakePlatform, order_body, sign
from tests.fault.conftest import report
from webhooks.worker import run_worker

ORDERS = 300
CUSTOMERS = 30
SECRET = "fault-secret"


def test_deliveries_survive_a_database_restart(own_postgres):  # type: ignore[no-untyped-def]
    db = Database(own_postgres.url, pool_size=8)
    upgrade(db)
    settings = build_settings({"server": {"secret_key": "k"}, "database": {"url": own_postgres.url},
                               "scheduler": {"worker_poll_seconds": 0.05}}, environ={})
    runtime = build_runtime(settings, platforms={"fake": FakePlatform()}, db=db)
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "k"), platform="fake", domain="restart.example",
                           now=runtime.clock(), webhook_secret=SECRET)
    server = make_server("127.0.0.1", 0, create_app(runtime), threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/webhooks/fake/{shop_id}"
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(runtime, stop, 5.0), daemon=True)
    worker.start()
    statuses: list[int] = []
    sessions = threading.local()

    def send(index: int) -> None:
        """One delivery, retried like a platform until it is acknowledged (200)."""
        body = order_body(f"r{index}", f"c{index % CUSTOMERS}", f"{index}.00")
        headers = {"X-Fake-Topic": "order/paid", "X-Fake-Hmac": sign(body, SECRET), "X-Fake-Delivery": uuid.uuid4().hex}
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        for _ in range(200):
            try:
                status = session.post(url, data=body, headers=headers, timeout=10).status_code
            except requests.ConnectionError:
                status = 0
            statuses.append(status)
            if status == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"delivery {index} never acknowledged")

    try:
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(send, index) for index in range(1, ORDERS + 1)]
            while statuses.count(200) < ORDERS // 3:
                time.sleep(0.01)
            # when the database goes down mid-stream and comes back
            own_postgres.stop()
            down_at = time.monotonic()
            while statuses.count(503) < 5 and time.monotonic() - down_at < 10:
                time.sleep(0.05)
            own_postgres.start()
            for future in futures:
                future.result(timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count_done(db) < ORDERS:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(10)
        server.shutdown()
    # then every order is credited once
    with db.read() as conn:
        stored = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
        total = conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one()
        order_entries = select(ledger_entries.c.source_key).where(ledger_entries.c.source_key.like("order:%"))
        credited = conn.execute(select(func.count()).select_from(order_entries.subquery())).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(ledger_entries.c.source_key)))
                                .where(ledger_entries.c.source_key.like("order:%"))).scalar_one()
        balances = conn.execute(select(func.sum(members.c.balance))).scalar_one()
    db.dispose()
    report("postgres restart", sent=ORDERS, answered_503=statuses.count(503), stored=stored, credited=credited,
           duplicates=credited - distinct, lost=ORDERS - distinct)
    expected = CUSTOMERS * 50 + sum(range(1, ORDERS + 1))
    assert statuses.count(503) >= 1, "the database restart was not seen by any delivery"
    assert set(statuses) <= {200, 503, 0}
    assert (stored, credited, total, balances) == (ORDERS, ORDERS, expected, expected)


def count_done(db: Database) -> int:
    try:
        with db.read() as conn:
            return conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status == "done")).scalar_one()
    except Exception:  # noqa: BLE001 - the database may still be coming back
        return 0
