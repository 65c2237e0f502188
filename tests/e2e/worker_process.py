"""A real worker process for kill tests: `python -m tests.e2e.worker_process DB_URL LEASE`.

The production loop (`webhooks.worker.run_worker`) with the test platform's parser, since the
deliveries in these tests are the fake platform's."""
from __future__ import annotations

import sys
import threading

from integration.config import build_settings
from integration.web.bootstrap import build_runtime
from tests.fakes import FakePlatform
from webhooks.worker import run_worker

if __name__ == "__main__":
    url, lease = sys.argv[1], float(sys.argv[2])
    settings = build_settings({"server": {"secret_key": "k"}, "database": {"url": url},
                               "scheduler": {"worker_batch_size": 25, "worker_poll_seconds": 0.05}}, environ={})
    run_worker(build_runtime(settings, platforms={"fake": FakePlatform()}), threading.Event(), lease_seconds=lease)
