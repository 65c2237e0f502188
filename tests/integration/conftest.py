"""A running service for integration tests: the real Flask app behind a real HTTP server on
loopback, with the fake platform and a clock the test controls."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import pytest
import requests
from werkzeug.serving import make_server

from integration.runtime import Runtime
from integration.shops import add_shop, create_api_key
from integration.web.bootstrap import build_runtime, create_app
from tests.fakes import FakePlatform, sign
from webhooks.inbox import Worker

WEBHOOK_SECRET = "fake-shop-secret"


@dataclass
class Service:
    runtime: Runtime
    platform: FakePlatform
    base_url: str
    shop_id: int
    api_key: str
    session: requests.Session

    def deliver(self, topic: str, body: bytes, delivery_id: str | None = None, *, secret: str = WEBHOOK_SECRET,
                shop_id: int | None = None) -> requests.Response:
        headers = {"X-Fake-Topic": topic, "X-Fake-Hmac": sign(body, secret),
                   "X-Fake-Delivery": delivery_id or uuid.uuid4().hex, "Content-Type": "application/json"}
        return self.session.post(f"{self.base_url}/webhooks/fake/{shop_id or self.shop_id}", data=body,
                                 headers=headers, timeout=10)

    def work(self) -> int:
        """Drain the inbox, then deliver due store writes, as the worker thread would."""
        count = Worker(self.runtime.db, self.runtime.platforms).drain(self.runtime.clock())
        self.runtime.outbox_runner().run_due(self.runtime.clock())
        return count

    def api(self, method: str, path: str, *, key: str | None = None, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {key or self.api_key}", **kwargs.pop("headers", {})}
        return self.session.request(method, f"{self.base_url}/api/v1{path}", headers=headers, timeout=10, **kwargs)

    def add_shop(self, domain: str) -> tuple[int, str]:
        with self.runtime.db.write() as conn:
            shop_id = add_shop(conn, self.runtime.box, platform="fake", domain=domain, now=self.runtime.clock(),
                               webhook_secret=WEBHOOK_SECRET)
            return shop_id, create_api_key(conn, shop_id, self.runtime.clock())


@pytest.fixture
def service(settings, db, clock):  # type: ignore[no-untyped-def]
    platform = FakePlatform()
    runtime = build_runtime(settings, platforms={"fake": platform}, db=db)
    runtime.clock = clock
    app = create_app(runtime)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    with db.write() as conn:
        shop_id = add_shop(conn, runtime.box, platform="fake", domain="shop-a.example", now=clock(),
                           webhook_secret=WEBHOOK_SECRET)
        key = create_api_key(conn, shop_id, clock())
    session = requests.Session()
    yield Service(runtime, platform, f"http://127.0.0.1:{server.server_port}", shop_id, key, session)
    session.close()
    server.shutdown()
    thread.join(5)
