"""The outbox: store writes committed with the ledger change that asks for them, delivered after.

A runner claims due rows (SKIP LOCKED on PostgreSQL) under a lease, calls the platform outside any
transaction, and records every attempt. Retryable failures wait per `RETRY_SECONDS` (or the wait the
platform announced, when longer); a write that can never succeed is compensated: a redemption's
points go back to the member and the redemption is marked failed, for the merchant to see.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from integration import metrics, notifications
from integration.budgets import Budgets
from integration.db import Database, repo
from integration.db.tables import outbox, outbox_attempts, redemptions, referrals
from integration.ports import CustomerTags, DiscountCode, RemoteRef, ShopAccess, StorePlatform, StoreWriteError

log = logging.getLogger(__name__)

RETRY_SECONDS = (10, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
LEASE_SECONDS = 300


def enqueue(conn: Connection, shop_id: int, kind: str, payload: dict[str, Any], *, dedupe_key: str,
            now: datetime) -> int | None:
    """Add a store write to the open transaction; a repeated `dedupe_key` adds nothing."""
    return repo.insert_once(conn, outbox, {
        "shop_id": shop_id, "kind": kind, "payload": payload, "dedupe_key": dedupe_key,
        "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
    }, ["shop_id", "dedupe_key"])


def claim(db: Database, now: datetime, limit: int, lease_seconds: int = LEASE_SECONDS,
          only_id: int | None = None) -> list[Any]:
    """Due rows, leased to this caller: another runner skips them until the lease runs out."""
    with db.write() as conn:
        return repo.claim_due(conn, outbox, now, limit, lease_seconds, only_id=only_id)


@dataclass
class OutboxRunner:
    db: Database
    platforms: Mapping[str, StorePlatform]
    access: Callable[[Connection, int], ShopAccess]  # decrypts credentials just in time
    max_attempts: int = len(RETRY_SECONDS) + 1
    budgets: Budgets | None = None  # the shops' store API budgets shared by all workers

    def __post_init__(self) -> None:
        if self.budgets is None:
            self.budgets = Budgets(self.db)

    def run_due(self, now: datetime, limit: int = 50, only_id: int | None = None) -> int:
        rows = claim(self.db, now, limit, only_id=only_id)
        for row in rows:
            self.deliver(row, now)
        return len(rows)

    def deliver(self, row: Any, now: datetime) -> None:
        try:
            with self.db.read() as conn:
                shop = repo.shop_row(conn, row.shop_id)
                if shop.status != "active":
                    self._fail(row, f"shop is {shop.status}: no calls are made", now)
                    return
                access = self.access(conn, row.shop_id)  # may refresh the token, or refuse (needs_reauth)
            if self.budgets is not None and (wait := self.budgets.acquire(row.shop_id, shop.platform)):
                self._put_back(row, now + timedelta(seconds=wait))
                return
            result = _call(self.platforms[shop.platform], access, row.kind, row.payload)
        except StoreWriteError as error:
            attempts = row.attempts + 1
            if error.retryable and attempts < self.max_attempts:
                wait = max(RETRY_SECONDS[min(attempts - 1, len(RETRY_SECONDS) - 1)], error.retry_after or 0)
                self._retry(row, str(error), now + timedelta(seconds=wait), now)
            else:
                self._fail(row, str(error), now)
            return
        self._succeed(row, result, now)

    def _put_back(self, row: Any, when: datetime) -> None:
        """The shop's budget is spent for now: try later, and this was not an attempt."""
        with self.db.write() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                next_attempt_at=when, attempts=outbox.c.attempts - 1))
        metrics.outbox_write(row.kind, "deferred")

    def _succeed(self, row: Any, result: RemoteRef | None, now: datetime) -> None:
        with self.db.write() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(status="done", done_at=now, last_error=None))
            conn.execute(outbox_attempts.insert().values(outbox_id=row.id, outcome="ok", at=now))
            if row.kind == "create_discount_code" and result is not None and row.payload.get("referral_id"):
                conn.execute(update(referrals).where(referrals.c.id == row.payload["referral_id"]).values(
                    code_status="issued", code_url=result.url, code_error=None))  # a friend's welcome code
            elif row.kind == "create_discount_code" and result is not None:
                conn.execute(update(redemptions).where(redemptions.c.id == row.payload["redemption_id"]).values(
                    status="issued", remote_id=result.remote_id, url=result.url, issued_at=now,
                ))
                notifications.code_issued(conn, row.shop_id, row.payload["redemption_id"], now)
        metrics.outbox_write(row.kind, "ok")
        log.info("outbox %s %s delivered", row.id, row.kind)

    def _retry(self, row: Any, error: str, when: datetime, now: datetime) -> None:
        with self.db.write() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(next_attempt_at=when, last_error=error))
            conn.execute(outbox_attempts.insert().values(outbox_id=row.id, outcome="retry", error=error, at=now))
        metrics.outbox_write(row.kind, "retry")
        log.warning("outbox %s %s will be retried at %s: %s", row.id, row.kind, when.isoformat(), error)

    def _fail(self, row: Any, error: str, now: datetime) -> None:
        with self.db.write() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(status="failed", last_error=error, done_at=now))
            conn.execute(outbox_attempts.insert().values(outbox_id=row.id, outcome="failed", error=error, at=now))
            if row.kind == "create_discount_code" and row.payload.get("referral_id"):
                conn.execute(update(referrals).where(referrals.c.id == row.payload["referral_id"]).values(
                    code_status="failed", code_error=error[:1000]))  # no points were taken: nothing to give back
            elif row.kind == "create_discount_code":
                compensate_redemption(conn, row.shop_id, row.payload["redemption_id"], error, now)
        metrics.outbox_write(row.kind, "failed")
        log.error("outbox %s %s failed for good: %s", row.id, row.kind, error)


def compensate_redemption(conn: Connection, shop_id: int, redemption_id: int, error: str,
                          now: datetime) -> None:
    """Give the points back (once, by source key) and mark the redemption failed."""
    redemption = conn.execute(select(redemptions).where(
        redemptions.c.shop_id == shop_id, redemptions.c.id == redemption_id)).one()
    program = repo.current_program(conn, shop_id)
    if redemption.points:  # a goodwill code (integration.goodwill) took no points: nothing to give back
        repo.append_entry(
            conn, shop_id=shop_id, member_id=redemption.member_id, kind="restore", points=redemption.points,
            source_key=f"redemption:{redemption_id}:restore", program_version=program.version, at=now,
            note=f"code could not be created: {error}"[:500],
        )
    conn.execute(update(redemptions).where(redemptions.c.id == redemption_id).values(status="failed", error=error))


def _call(platform: StorePlatform, access: ShopAccess, kind: str, payload: dict[str, Any]) -> RemoteRef | None:
    if kind == "create_discount_code":
        return platform.create_discount_code(access, discount_from_payload(payload))
    if kind == "tag_customer":
        platform.tag_customer(access, CustomerTags(
            payload["customer_id"], tuple(payload.get("add", ())), tuple(payload.get("remove", ()))))
        return None
    if kind == "delete_discount_code":
        platform.delete_discount_code(access, RemoteRef(payload["remote_id"]))
        return None
    raise StoreWriteError(f"unknown outbox kind {kind!r}", retryable=False)


def discount_payload(code: DiscountCode, redemption_id: int) -> dict[str, Any]:
    return {
        "redemption_id": redemption_id, "code": code.code, "kind": code.kind, "value": str(code.value),
        "customer_id": code.customer_id, "customer_email": code.customer_email,
        "starts_at": code.starts_at.isoformat(), "ends_at": code.ends_at.isoformat(), "title": code.title,
        "product_ids": list(code.product_ids), "variant_ids": list(code.variant_ids),
        "minimum_subtotal": str(code.minimum_subtotal) if code.minimum_subtotal is not None else None,
        "new_customers_only": code.new_customers_only,
    }


def discount_from_payload(payload: Mapping[str, Any]) -> DiscountCode:
    minimum = payload.get("minimum_subtotal")
    return DiscountCode(
        code=payload["code"], kind=payload["kind"], value=Decimal(payload["value"]),
        customer_id=payload["customer_id"], customer_email=payload.get("customer_email"),
        starts_at=datetime.fromisoformat(payload["starts_at"]), ends_at=datetime.fromisoformat(payload["ends_at"]),
        title=payload["title"], product_ids=tuple(payload.get("product_ids", ())),
        variant_ids=tuple(payload.get("variant_ids", ())),
        minimum_subtotal=Decimal(minimum) if minimum is not None else None,
        new_customers_only=bool(payload.get("new_customers_only")),
    )
