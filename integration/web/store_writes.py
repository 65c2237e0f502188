"""Store writes a web request waits for: a redeemed code is written into the store at once, so
the customer (API client or portal visitor) sees it; if the store is slow or down, the outbox
retries it later and the redemption stays `pending` until then."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, select

from integration.db.tables import outbox, outbox_attempts, redemptions
from integration.outbox import claim
from integration.runtime import Runtime


def deliver_now(runtime: Runtime, row: Any) -> Any:
    """Try the redemption's pending code write now; the redemption row as it then stands."""
    return write_now(runtime, row.shop_id, f"code:{row.id}",
                     lambda conn: conn.execute(select(redemptions).where(redemptions.c.id == row.id)).one(),
                     lambda current: current.status != "pending")


def write_now(runtime: Runtime, shop_id: int, dedupe_key: str, load: Callable[[Connection], Any],
              settled: Callable[[Any], bool], wait_seconds: float = 5.0) -> Any:
    """Deliver the outbox row `dedupe_key` now if it is due, then return `load`'s row once
    `settled` says so, or as it stands after `wait_seconds`: when the worker thread claimed the
    write first, the customer should still see the code it writes."""
    with runtime.db.read() as conn:
        pending = conn.execute(select(outbox.c.id).where(
            outbox.c.shop_id == shop_id, outbox.c.dedupe_key == dedupe_key, outbox.c.status == "pending")).scalar()
    if pending is not None:
        runner = runtime.outbox_runner()
        for claimed in claim(runtime.db, runtime.clock(), 1, only_id=pending):
            runner.deliver(claimed, runtime.clock())
    deadline = time.monotonic() + wait_seconds
    while True:
        with runtime.db.read() as conn:
            row = load(conn)
            write = conn.execute(select(outbox.c.id, outbox.c.attempts).where(
                outbox.c.shop_id == shop_id, outbox.c.dedupe_key == dedupe_key, outbox.c.status == "pending")).first()
            recorded = conn.execute(select(func.count()).select_from(outbox_attempts).where(
                outbox_attempts.c.outbox_id == write.id)).scalar_one() if write else 0
        writing = write is not None and write.attempts > recorded  # claimed, its attempt not yet recorded
        if settled(row) or not writing or time.monotonic() > deadline:
            return row
        time.sleep(0.05)
