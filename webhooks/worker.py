"""`loyalty worker`: drain the inbox and deliver the outbox until told to stop."""
from __future__ import annotations

import logging
import threading

from integration.notifications import deliver_due_emails
from integration.runtime import Runtime
from webhooks.inbox import Worker

log = logging.getLogger(__name__)


def run_worker(runtime: Runtime, stop: threading.Event, lease_seconds: float = 120.0) -> None:
    """Loop: one inbox batch, then due outbox rows; sleep only when both were idle. Any error is
    logged and the loop goes on: nothing a payload or a store does may stop the worker."""
    settings = runtime.settings.scheduler
    worker = Worker(runtime.db, runtime.platforms, batch_size=settings.worker_batch_size,
                    lease_seconds=lease_seconds)
    outbox = runtime.outbox_runner()
    log.info("worker started")
    while not stop.is_set():
        busy = 0
        try:
            busy += worker.run_once(runtime.clock())
            busy += outbox.run_due(runtime.clock())
            busy += deliver_due_emails(runtime, runtime.clock())  # emails queued with committed changes
        except Exception:  # noqa: BLE001 - e.g. the database restarting: wait and go on
            log.exception("worker loop error; retrying")
            stop.wait(min(5.0, settings.worker_poll_seconds * 4))
            continue
        if not busy:
            stop.wait(settings.worker_poll_seconds)
    log.info("worker stopped")
