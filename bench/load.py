"""Load harness, on demand: `python -m bench.load` (a few minutes). Prints figures; asserts nothing.

For each database (SQLite, PostgreSQL) and each number of `loyalty worker` processes (1, 2) it
starts a real gunicorn server (2 processes × 4 threads, `integration.wsgi:app`) and the workers,
then drives it over loopback with signed Shopify `orders/paid` deliveries:

1. burst: N deliveries as fast as `--clients` connections go (workers stopped) → deliveries/s;
2. drain: the workers start and apply the burst → events/s (the 1 → 2 worker speed-up);
3. open loop: `--rate` deliveries/s on a fixed schedule for `--seconds`, workers running →
   ack latency p50/p99/max measured from each request's *scheduled* time (a slow server cannot
   hide its queue), then webhook → points latency (inbox processed_at − received_at) p50/p99/max.

The same burst and open loop run against `bench/baseline.py` (HMAC + one SQLite insert, same
gunicorn) and the ratio is printed. Other processes on the machine skew every figure: say so
beside them.
"""
from __future__ import annotations

import argparse
import http.client
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.__main__ import ROOT, SECRET, TempDatabase, free_port, headers_for, order_bodies
from integration.db.tables import inbox

DOMAIN = "bench.myshopify.com"
GUNICORN = ["--workers", "2", "--threads", "4", "--log-level", "warning", "--keep-alive", "30"]


def note(text: str) -> None:
    sys.stderr.write(f"  … {text}\n")
    sys.stderr.flush()


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_gunicorn(app: str, env: dict[str, str]) -> Server:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{port}", app],
                               cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return Server(process, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app} did not start")


class Sender:
    """One keep-alive connection per thread; returns the HTTP status (0 on a network error)."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        for _ in range(2):
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request("POST", "/webhooks/shopify", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                self.local.connection = None
        return 0


def burst(port: int, count: int, clients: int, offset: int) -> tuple[float, list[int]]:
    """Closed loop: `clients` connections send `count` deliveries back to back; deliveries/s."""
    bodies = order_bodies(offset + count)[offset:]
    sender, statuses, next_index = Sender(port), [], iter(range(count))
    lock = threading.Lock()

    def run() -> None:
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            delivery_id, body = bodies[index]
            statuses.append(sender.post(body, headers_for(delivery_id, body, DOMAIN)))

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - started), statuses


def open_loop(port: int, rate: float, seconds: float, offset: int, clients: int = 48) -> tuple[list[float], list[int]]:
    """Deliveries scheduled every 1/rate s for `seconds`; latency counts from the scheduled time."""
    total = int(rate * seconds)
    bodies = order_bodies(offset + total)[offset:]
    sender, latencies, statuses = Sender(port), [], []
    work: queue.Queue[int | None] = queue.Queue()
    start = time.perf_counter() + 0.2

    def run() -> None:
        while (index := work.get()) is not None:
            due = start + index / rate
            if (pause := due - time.perf_counter()) > 0:
                time.sleep(pause)
            delivery_id, body = bodies[index]
            statuses.append(sender.post(body, headers_for(delivery_id, body, DOMAIN)))
            latencies.append(time.perf_counter() - due)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for index in range(total):
        work.put(index)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return latencies, statuses


def wait_until(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def inbox_counts(temp: TempDatabase) -> tuple[int, int]:
    with temp.db.read() as conn:
        done = conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status != "pending")).scalar_one()
        stored = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
    return done, stored


def processing_rate(temp: TempDatabase) -> float:
    """Events applied per second, first to last `processed_at` (process start-up not counted)."""
    with temp.db.read() as conn:
        count, first, last = conn.execute(select(func.count(), func.min(inbox.c.processed_at),
                                                 func.max(inbox.c.processed_at))).one()
    return (count - 1) / max((last - first).total_seconds(), 1e-6)


def points_latency(temp: TempDatabase, first_id: int) -> list[float]:
    with temp.db.read() as conn:
        rows = conn.execute(select(inbox.c.received_at, inbox.c.processed_at)
                            .where(inbox.c.id > first_id, inbox.c.processed_at.is_not(None))).fetchall()
    return [(row.processed_at - row.received_at).total_seconds() for row in rows]


@dataclass
class Figures:
    label: str
    burst_rate: float
    drain_rate: float | None
    ack: list[float]
    to_points: list[float]
    errors: int

    def line(self) -> str:
        ack = f"ack p50 {quantile(self.ack, .5)*1000:.1f} / p99 {quantile(self.ack, .99)*1000:.1f} / " \
              f"max {max(self.ack)*1000:.0f} ms"
        points = (f"; webhook→points p50 {quantile(self.to_points, .5)*1000:.0f} / p99 "
                  f"{quantile(self.to_points, .99)*1000:.0f} / max {max(self.to_points)*1000:.0f} ms"
                  if self.to_points else "")
        drain = f"; worker drain {self.drain_rate:,.0f} events/s" if self.drain_rate else ""
        return (f"{self.label:<30} burst {self.burst_rate:7,.0f} deliveries/s{drain}; {ack}{points}"
                + (f"; {self.errors} non-200" if self.errors else ""))


def run_loyalty(backend: str, workers: int, args: argparse.Namespace) -> Figures:
    temp = TempDatabase(backend)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")},
           "LOYALTY_DATABASE__URL": temp.url, "LOYALTY_SERVER__SECRET_KEY": "bench",
           "LOYALTY_SERVER__WORKER_THREAD": "false", "LOYALTY_SHOPIFY__API_SECRET": SECRET,
           "LOYALTY_SCHEDULER__WORKER_POLL_SECONDS": "0.05", "LOYALTY_SCHEDULER__WORKER_BATCH_SIZE": "50",
           "LOYALTY_DATABASE__POOL_SIZE": "5"}
    label = f"loyalty {backend}, {workers} worker{'s' if workers > 1 else ''}"
    server = start_gunicorn("integration.wsgi:app", env)
    processes: list[subprocess.Popen] = []
    try:
        note(f"{label}: burst of {args.burst}")
        rate, statuses = burst(server.port, args.burst, args.clients, 0)
        errors = sum(status != 200 for status in statuses)
        note(f"{label}: {workers} worker process(es) drain it")
        processes = [subprocess.Popen([sys.executable, "-m", "integration.cli", "worker"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        drained = wait_until(lambda: inbox_counts(temp)[0] >= args.burst, 300)
        drain_rate = processing_rate(temp) if drained else None
        with temp.db.read() as conn:
            first_id = conn.execute(select(func.max(inbox.c.id))).scalar_one() or 0
        note(f"{label}: open loop {args.rate:.0f}/s for {args.seconds:.0f} s")
        ack, statuses = open_loop(server.port, args.rate, args.seconds, args.burst)
        errors += sum(status != 200 for status in statuses)
        wait_until(lambda: inbox_counts(temp)[0] >= inbox_counts(temp)[1], 120)
        return Figures(label, rate, drain_rate, ack, points_latency(temp, first_id), errors)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        server.stop()
        temp.close()


def run_baseline(args: argparse.Namespace) -> Figures:
    directory = tempfile.mkdtemp(prefix="loyalty-baseline-")
    env = {**os.environ, "BASELINE_DB": str(Path(directory) / "baseline.db"), "BASELINE_SECRET": SECRET}
    server = start_gunicorn("bench.baseline:app", env)
    try:
        note(f"baseline: burst of {args.burst}")
        rate, statuses = burst(server.port, args.burst, args.clients, 0)
        note(f"baseline: open loop {args.rate:.0f}/s for {args.seconds:.0f} s")
        ack, more = open_loop(server.port, args.rate, args.seconds, args.burst)
        return Figures("bare baseline (HMAC + SQLite)", rate, None, ack, [],
                       sum(status != 200 for status in statuses + more))
    finally:
        server.stop()
        import shutil
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="numbers of `loyalty worker` processes to try")
    parser.add_argument("--burst", type=int, default=2000, help="deliveries in the closed-loop burst")
    parser.add_argument("--clients", type=int, default=16, help="connections in the burst")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop deliveries per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="open-loop duration")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores (shared with whatever else runs); gunicorn {' '.join(GUNICORN[:4])}")
    baseline = run_baseline(args)
    print(baseline.line(), flush=True)
    drains: dict[tuple[str, int], float | None] = {}
    for backend in args.databases.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            figures = run_loyalty(backend, workers, args)
            drains[(backend, workers)] = figures.drain_rate
            print(figures.line() + f"  [{figures.burst_rate / baseline.burst_rate:.2f}× baseline]", flush=True)
    for backend in args.databases.split(","):
        one, two = drains.get((backend, 1)), drains.get((backend, 2))
        if one and two:
            print(f"{backend}: 1 → 2 workers drain {one:,.0f} → {two:,.0f} events/s ({two / one:.2f}×)")


if __name__ == "__main__":
    main()
