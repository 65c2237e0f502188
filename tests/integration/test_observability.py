"""/metrics, the dashboard's health numbers, request ids and the body cap, on a real server."""
from __future__ import annotations

from prometheus_client import REGISTRY

from integration.config import build_settings
from integration.metrics import health_snapshot
from integration.web.bootstrap import build_runtime, create_app
from tests.fakes import FakePlatform, order_body


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(service) -> dict[str, float]:  # type: ignore[no-untyped-def]
    answer = service.session.get(f"{service.base_url}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    values = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_deliveries_and_queues_are_counted(service):  # type: ignore[no-untyped-def]
    stored = dict(platform="fake", topic="order/paid", outcome="stored")
    rejected = dict(platform="fake", topic="-", outcome="bad_signature")
    before = sample("loyalty_webhook_deliveries_total", **stored), sample("loyalty_webhook_deliveries_total", **rejected)
    done_before = sample("loyalty_inbox_events_total", platform="fake", outcome="done")
    # when one good and one forged delivery arrive
    assert service.deliver("order/paid", order_body("1", "c1", "10.00")).status_code == 200
    assert service.deliver("order/paid", order_body("2", "c1", "10.00"), secret="forged").status_code == 401
    # then
    assert sample("loyalty_webhook_deliveries_total", **stored) == before[0] + 1
    assert sample("loyalty_webhook_deliveries_total", **rejected) == before[1] + 1
    values = scrape(service)
    assert (values["loyalty_inbox_pending"], values["loyalty_database_up"]) == (1.0, 1.0)
    assert values['loyalty_webhook_deliveries_total{outcome="stored",platform="fake",topic="order/paid"}'] >= 1
    # and once the worker ran
    service.work()
    assert scrape(service)["loyalty_inbox_pending"] == 0.0
    assert sample("loyalty_inbox_events_total", platform="fake", outcome="done") == done_before + 1


def test_health_snapshot_is_plain_numbers(service):  # type: ignore[no-untyped-def]
    service.deliver("order/paid", order_body("1", "c1", "10.00"))
    snapshot = health_snapshot(service.runtime)
    assert snapshot["database_up"] is True
    assert {key: snapshot[key] for key in ("inbox_pending", "inbox_failed", "outbox_pending", "outbox_failed",
                                           "emails_pending", "job_runs_failed")} == {
        "inbox_pending": 1, "inbox_failed": 0, "outbox_pending": 0, "outbox_failed": 0, "emails_pending": 0,
        "job_runs_failed": 0}
    assert isinstance(snapshot["inbox_oldest_pending_seconds"], float)
    assert health_snapshot(service.runtime, shop_id=service.shop_id + 1)["inbox_pending"] == 0


def test_request_ids_go_in_and_out(service):  # type: ignore[no-untyped-def]
    given = service.session.get(f"{service.base_url}/healthz", headers={"X-Request-Id": "edge-1234"}, timeout=10)
    made = service.session.get(f"{service.base_url}/healthz", timeout=10)
    assert given.headers["X-Request-Id"] == "edge-1234"
    assert len(made.headers["X-Request-Id"]) == 32


def small_app(db, db_url, **server):  # type: ignore[no-untyped-def]
    settings = build_settings({"server": {"secret_key": "k", "max_body_bytes": 1024, **server},
                               "database": {"url": db_url}}, environ={})
    return create_app(build_runtime(settings, platforms={"fake": FakePlatform()}, db=db))


def test_an_oversized_body_gets_413_json_and_nothing_is_stored(db, db_url):  # type: ignore[no-untyped-def]
    client = small_app(db, db_url).test_client()
    answer = client.post("/webhooks/fake/1", data=b"x" * 1025, headers={"X-Fake-Topic": "order/paid"})
    assert answer.status_code == 413
    assert answer.get_json() == {"error": "the request body is larger than 1024 bytes (server.max_body_bytes)"}
    assert health_snapshot(type("R", (), {"db": db})())["inbox_pending"] == 0
    api = client.post("/api/v1/members/1/adjustments", data=b"{" + b" " * 2000 + b"}",
                      headers={"Authorization": "Bearer x", "Content-Type": "application/json"})
    assert api.status_code in (401, 413) and "error" in api.get_json()


def test_metrics_token_is_required_when_set(db, db_url):  # type: ignore[no-untyped-def]
    client = small_app(db, db_url, metrics_token="scrape-me").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
