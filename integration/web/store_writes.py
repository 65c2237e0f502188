"""Store writes a web request waits for: a redeemed code is written into the store at once, so
the customer (API client or portal visitor) sees it; if the store is slow or down, the outbox
retries it later and the redemption stays `pending` until then."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from integration.db.tables import outbox, redemptions
from integration.outbox import claim
from integration.runtime import Runtime


def deliver_now(runtime: Runtime, row: Any) -> Any:
    """Try the redemption's pending code write now; the redemption row as it then stands."""
    with runtime.db.read() as conn:
        pending = conn.execute(select(outbox.c.id).where(
            outbox.c.shop_id == row.shop_id, outbox.c.dedupe_key == f"code:{row.id}",
            outbox.c.status == "pending")).scalar()
    if pending is not None:
        runner = runtime.outbox_runner()
        for claimed in claim(runtime.db, runtime.clock(), 1, only_id=pending):
            runner.deliver(claimed, runtime.clock())
    with runtime.db.read() as conn:
        return conn.execute(select(redemptions).where(redemptions.c.id == row.id)).one()
