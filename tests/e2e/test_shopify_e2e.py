"""A merchant's whole Shopify story against a real `loyalty serve` process and the fake store:
install by OAuth, webhooks subscribed, a paid order credits points, a redemption writes a valid
single-use code, a refund takes back exactly its share, and after app/uninstalled nothing more
reaches the store (a redemption is refused and costs no points)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from adapters.shopify.platform import WEBHOOK_TOPICS
from tests.fake_shopify import CLIENT_ID, CLIENT_SECRET, FakeShopify, fake_shopify, signed_query, webhook_hmac  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "shopify"
SHOP = "e2e-shop.myshopify.com"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
        except requests.ConnectionError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        time.sleep(0.05)


class Server:
    def __init__(self, fake: FakeShopify, db_url: str, workdir: Path):
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("LOYALTY_")}
        self.env.update({
            "PYTHONPATH": str(ROOT), "LOYALTY_DATABASE__URL": db_url, "LOYALTY_SERVER__PORT": str(port),
            "LOYALTY_SERVER__BASE_URL": self.base_url, "LOYALTY_SERVER__SECRET_KEY": "e2e-secret-key",
            "LOYALTY_SHOPIFY__API_KEY": CLIENT_ID, "LOYALTY_SHOPIFY__API_SECRET": CLIENT_SECRET,
            "LOYALTY_SHOPIFY__ADMIN_URL": fake.admin_url, "LOYALTY_SCHEDULER__WORKER_POLL_SECONDS": "0.05",
        })
        self.workdir = workdir
        self.log = workdir / "serve.log"
        self.http = requests.Session()
        self.key = ""

    def start(self) -> subprocess.Popen:
        with self.log.open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "integration.cli", "serve"], cwd=self.workdir,
                                       env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.http.get(f"{self.base_url}/healthz", timeout=1).ok)
        return process

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "integration.cli", *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def webhook(self, topic: str, body: bytes) -> requests.Response:
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": webhook_hmac(body),
                   "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                   "X-Shopify-API-Version": "2026-10", "Content-Type": "application/json"}
        return self.http.post(f"{self.base_url}/webhooks/shopify", data=body, headers=headers, timeout=10)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.base_url}/api/v1{path}", timeout=10,
                                 headers={"Authorization": f"Bearer {self.key}"}, **kwargs)

    def member(self, customer_id: str) -> dict[str, Any] | None:
        found = self.api("GET", f"/members?customer_id={customer_id}").json()["members"]
        return found[0] if found else None

    def all_events_done(self) -> bool:
        events = self.api("GET", "/events").json()["events"]
        return bool(events) and all(e["status"] == "done" for e in events)


@pytest.fixture
def server(fake_shopify, db_url, tmp_path) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    server = Server(fake_shopify, db_url, tmp_path)
    process = server.start()
    try:
        yield server
    finally:
        process.terminate()
        process.wait(10)
        server.http.close()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def install(server: Server, fake: FakeShopify) -> None:
    started = server.http.get(f"{server.base_url}/shopify/install?"
                              + signed_query({"shop": SHOP, "timestamp": str(int(time.time()))}),
                              allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    finished = server.http.get(f"{server.base_url}/shopify/callback?{fake.callback_query(SHOP, state)}",
                               allow_redirects=False, timeout=10)
    assert finished.status_code == 302, finished.text
    assert finished.headers["Location"] == f"https://{SHOP}/admin/apps/{CLIENT_ID}"


def test_install_earn_redeem_refund_uninstall(server: Server, fake_shopify: FakeShopify) -> None:
    fake = fake_shopify
    # install: OAuth, an expiring token, and our webhook subscriptions in the store
    install(server, fake)
    assert [(s["topic"], s["uri"]) for s in fake.shop(SHOP).subscriptions] == [
        (topic, f"{server.base_url}/webhooks/shopify") for topic in WEBHOOK_TOPICS]
    server.key = server.cli("api-key", "create", "--shop", SHOP).strip().splitlines()[-1]

    # a paid order (Shopify's sample) credits the signup bonus and 1 point per dollar
    assert server.webhook("orders/paid", fixture("orders_paid.json")).json() == {"status": "stored"}
    jane = wait_for(lambda: (m := server.member("1073339475")) and m["points"] == 231 and m)

    # redeeming the first reward writes one valid, single-use, 30-day code for her only
    redeemed = server.api("POST", f"/members/{jane['id']}/redemptions", json={"reward_id": "r200"})
    assert redeemed.status_code == 201, redeemed.text
    code = redeemed.json()
    assert (code["status"] in ("issued", "pending"), code["points"]) == (True, 200)  # the worker may deliver it
    [call] = wait_for(lambda: fake.graphql_calls("discountCodeBasicCreate"))
    sent = call.variables["basicCodeDiscount"]
    assert sent["code"] == code["code"]
    assert sent["context"] == {"customers": {"add": ["gid://shopify/Customer/1073339475"]}}
    assert (sent["usageLimit"], sent["appliesOncePerCustomer"]) == (1, True)
    assert datetime.fromisoformat(sent["endsAt"]) - datetime.fromisoformat(sent["startsAt"]) == timedelta(days=30)
    assert server.member("1073339475")["points"] == 31

    # Shopify's rich order 450789469 (587.00 after discounts, with a 391.33 refund inside it) ...
    server.webhook("orders/paid", fixture("orders_create__rich_order_450789469.json"))
    wait_for(server.all_events_done)
    # ... then its later refund 929361472 (one line refunded at 0.00: nothing more to take back)
    server.webhook("refunds/create", fixture("refunds_create.json"))
    wait_for(server.all_events_done)
    bob = server.member("207119551")
    ledger = server.api("GET", f"/members/{bob['id']}/ledger").json()["entries"]
    assert sorted((e["source_key"], e["points"]) for e in ledger) == [
        ("order:450789469:earn", 587), ("refund:450789469:509562969", -391), ("signup:207119551", 50)]
    assert bob["points"] == 246

    # the merchant uninstalls: Shopify revokes the token and tells us
    fake.uninstall(SHOP)
    calls_before = len(fake.requests)
    server.webhook("app/uninstalled", fixture("app_uninstalled__shop_resource.json"))
    wait_for(server.all_events_done)
    # a redemption now is refused at once: no points taken, no call to the store
    refused = server.api("POST", f"/members/{bob['id']}/redemptions", json={"reward_id": "r200"})
    assert refused.status_code == 409
    assert server.member("207119551")["points"] == 246
    time.sleep(0.2)  # give the worker a few loops: still nothing may reach the store
    assert len(fake.requests) == calls_before

    # and no access token ever reached the log
    log = server.log.read_text()
    assert "shpat_" not in log and "shprt_" not in log and CLIENT_SECRET not in log
    assert json.loads(refused.text)["error"].startswith("the shop is uninstalled")
