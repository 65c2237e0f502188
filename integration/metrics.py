"""Prometheus metrics (`GET /metrics`) and the health numbers the merchant dashboard shows.

Counters are incremented where things happen (ingest, inbox worker, outbox runner, scheduler,
store throttling). Queue depths and ages are read from the database at scrape time, so every web
process reports the same truth and a dead worker cannot leave a stale gauge behind.

Under gunicorn each worker process has its own counters. Set `PROMETHEUS_MULTIPROC_DIR` to an empty
directory (wiped at every start) in the environment of the web *and* worker processes before they
start: prometheus_client then keeps counters in files there and `/metrics` adds them up
(deploy/gunicorn.conf.py marks dead workers). Without it, `/metrics` reports this process only.
"""
from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from integration.db.tables import emails, inbox, job_runs, outbox

DELIVERIES = Counter("loyalty_webhook_deliveries", "Webhook deliveries received, by outcome",
                     ["platform", "topic", "outcome"])
ACK_SECONDS = Histogram("loyalty_webhook_ack_seconds", "Time to answer a webhook delivery", ["platform"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
INBOX_EVENTS = Counter("loyalty_inbox_events", "Stored deliveries processed by workers, by outcome",
                       ["platform", "outcome"])
OUTBOX_WRITES = Counter("loyalty_outbox_writes", "Store write attempts, by kind and outcome", ["kind", "outcome"])
STORE_THROTTLED = Counter("loyalty_store_throttled", "Store API answers that said THROTTLED or 429", ["platform"])
STORE_THROTTLE_WAIT = Counter("loyalty_store_throttle_wait_seconds", "Seconds waited because the store throttled",
                              ["platform"])
BUDGET_WAITS = Counter("loyalty_store_budget_waits", "Store calls held back by the shared per-shop budget",
                       ["platform"])
BUDGET_WAIT_SECONDS = Counter("loyalty_store_budget_wait_seconds", "Seconds store calls were held back",
                              ["platform"])
JOB_RUNS = Counter("loyalty_job_runs", "Scheduled job runs per shop, by job and outcome", ["job", "outcome"])

KNOWN_TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789/._-")


def _topic(topic: str | None) -> str:
    """A bounded label: topics come from the sender, so odd ones are folded into "other"."""
    text = (topic or "").strip().lower()
    return text if text and len(text) <= 60 and set(text) <= KNOWN_TOPIC_CHARS else "other"


def delivery(platform: str, topic: str | None, outcome: str, seconds: float | None = None) -> None:
    """One answered delivery. `topic` counts only for verified deliveries (else it is "-")."""
    DELIVERIES.labels(platform, _topic(topic) if topic is not None else "-", outcome).inc()
    if seconds is not None:
        ACK_SECONDS.labels(platform).observe(seconds)


def inbox_event(platform: str, outcome: str) -> None:
    INBOX_EVENTS.labels(platform, outcome).inc()


def outbox_write(kind: str, outcome: str) -> None:
    OUTBOX_WRITES.labels(kind, outcome).inc()


def store_throttled(platform: str, wait: float) -> None:
    STORE_THROTTLED.labels(platform).inc()
    STORE_THROTTLE_WAIT.labels(platform).inc(max(wait, 0.0))


def budget_wait(platform: str, wait: float) -> None:
    BUDGET_WAITS.labels(platform).inc()
    BUDGET_WAIT_SECONDS.labels(platform).inc(max(wait, 0.0))


def job_run(job: str, outcome: str) -> None:
    JOB_RUNS.labels(job, outcome).inc()


# -- numbers read from the database ------------------------------------------------------------

def _age(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
    return max(0.0, (now - oldest).total_seconds())


def health_snapshot(runtime: Any, shop_id: int | None = None) -> dict[str, float | int | bool]:
    """Plain numbers for the dashboard's health panel and for `/metrics`: queue depths, the age
    of the oldest waiting item (seconds), failures. For one shop, or all with `shop_id=None`."""
    now = datetime.now(timezone.utc)  # ages are real time, whatever the business clock says
    snapshot: dict[str, float | int | bool] = {"database_up": False}
    try:
        with runtime.db.read() as conn:
            def scoped(statement: Any, table: Any) -> Any:
                return statement if shop_id is None else statement.where(table.c.shop_id == shop_id)

            for name, table, created in (("inbox", inbox, inbox.c.received_at), ("outbox", outbox, outbox.c.created_at)):
                pending, oldest = conn.execute(scoped(select(func.count(), func.min(created)).select_from(table)
                                                      .where(table.c.status == "pending"), table)).one()
                failed = conn.execute(scoped(select(func.count()).select_from(table)
                                             .where(table.c.status == "failed"), table)).scalar_one()
                snapshot.update({f"{name}_pending": int(pending), f"{name}_failed": int(failed),
                                 f"{name}_oldest_pending_seconds": round(_age(oldest, now), 3)})
            snapshot["emails_pending"] = int(conn.execute(scoped(select(func.count()).select_from(emails)
                                                                 .where(emails.c.status == "pending"), emails)).scalar_one())
            snapshot["job_runs_failed"] = int(conn.execute(scoped(select(func.count()).select_from(job_runs)
                                                                  .where(job_runs.c.status == "failed"), job_runs)).scalar_one())
        snapshot["database_up"] = True
    except Exception:  # noqa: BLE001 - a health panel reports a broken database, it does not crash
        pass
    return snapshot


class DatabaseCollector(Collector):
    """Gauges computed from `health_snapshot` at each scrape."""

    def __init__(self, runtime: Any):
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = health_snapshot(self.runtime)
        yield GaugeMetricFamily("loyalty_database_up", "1 when the database answered this scrape",
                                value=1.0 if snapshot["database_up"] else 0.0)
        for key, value in snapshot.items():
            if key == "database_up":
                continue
            yield GaugeMetricFamily(f"loyalty_{key}", key.replace("_", " "), value=float(value))


def scrape_registry(runtime: Any) -> CollectorRegistry:
    """This process's counters (or every process's, in multiprocess mode) and the DB gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector(runtime))
    return registry


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        return self.registry.collect()


def view(runtime: Any, token: str = "") -> Callable[[], Any]:
    """The Flask view for `/metrics`; with `server.metrics_token` set, a Bearer token is required."""
    from flask import Response, jsonify, request

    def metrics_view() -> Any:
        if token:
            sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(sent.encode(), token.encode()):
                return jsonify({"error": "send 'Authorization: Bearer <server.metrics_token>'"}), 401
        return Response(generate_latest(scrape_registry(runtime)), mimetype=CONTENT_TYPE_LATEST)

    return metrics_view
