"""Keep a WooCommerce store's webhooks alive. WooCommerce never retries a delivery and disables a
webhook after a handful of consecutive failures (our server was down, a deploy, a timeout), and
a merchant or another plugin may pause or delete it. This job re-creates disabled and missing
webhooks and re-activates paused ones, then tells the merchant: a log line and a notice
(`GET /api/v1/notices`). Orders missed meanwhile are found by reconciliation (`reconcile_shop`);
this job only makes the next ones arrive on time again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from integration.db import repo
from integration.db.tables import shops
from integration.notices import add_notice
from integration.ports import StoreAuthError, StoreWriteError
from integration.runtime import Runtime
from integration.web.woocommerce_app import PLATFORM, current_webhook_secret, delivery_url

log = logging.getLogger(__name__)

ACTIONS = {"created": "was missing and is created again", "recreated": "was disabled and is created again",
           "reactivated": "was paused and is active again"}


@dataclass(frozen=True, slots=True)
class RepairResult:
    """`changes` are (topic, action, webhook id); `problem` says why the store could not be asked;
    `skipped` why the shop was not looked at (not WooCommerce, not active)."""

    shop_id: int
    changes: tuple[tuple[str, str, str | None], ...] = ()
    problem: str | None = None
    skipped: str | None = None


def repair_shop_webhooks(runtime: Runtime, shop_id: int, now: datetime) -> RepairResult:
    """Check one shop's webhooks and repair them; never raises for a store that fails (the
    failure is the result, logged and left as a notice)."""
    with runtime.db.read() as conn:
        shop = repo.shop_row(conn, shop_id)
        if shop.platform != PLATFORM or shop.status != "active":
            return RepairResult(shop_id, skipped=f"a {shop.status} {shop.platform} shop, not an active WooCommerce one")
        secret = current_webhook_secret(runtime, shop)
    platform: Any = runtime.platforms[PLATFORM]
    try:
        with runtime.db.read() as conn:
            access = runtime.access(conn, shop_id)
        changes = platform.repair_webhooks(access, delivery_url(runtime, shop_id), secret)
    except StoreAuthError as error:
        return _problem(runtime, shop_id, "store_auth", now, str(error),
                        "Your store refused our API keys, so points cannot be kept up to date: reconnect the store.")
    except StoreWriteError as error:
        return _problem(runtime, shop_id, "webhooks_check_failed", now, str(error),
                        f"We could not check our webhooks in your store ({error}); we will try again.")
    result = RepairResult(shop_id, tuple((c.topic, c.status, c.webhook_id) for c in changes))
    if result.changes:
        described = "; ".join(f"{topic} {ACTIONS.get(action, action)}" for topic, action, _ in result.changes)
        log.warning("woocommerce shop %s: webhooks repaired: %s", shop_id, described)
        with runtime.db.write() as conn:
            add_notice(conn, shop_id, "webhooks_repaired",
                       f"Your store had stopped sending us some order updates: {described}. Orders from the "
                       "meantime are picked up by the regular order check.", now)
    return result


def repair_all(runtime: Runtime, now: datetime) -> list[RepairResult]:
    """Every active WooCommerce shop, one after the other (the scheduler runs this)."""
    with runtime.db.read() as conn:
        shop_ids = list(conn.execute(select(shops.c.id).where(
            shops.c.platform == PLATFORM, shops.c.status == "active").order_by(shops.c.id)).scalars())
    return [repair_shop_webhooks(runtime, shop_id, now) for shop_id in shop_ids]


def repair_job(runtime: Runtime, shop_id: int, now: datetime) -> Any:
    """The job as `scheduler.jobs.JOBS` runs it (once per active shop per period)."""
    from scheduler.jobs import JobResult
    result = repair_shop_webhooks(runtime, shop_id, now)
    job = JobResult("repair-webhooks", shop_id, processed=0 if result.skipped else 1, changed=len(result.changes))
    job.notes.extend(f"{topic} {action}" for topic, action, _ in result.changes)
    if result.problem:
        job.notes.append(f"not checked: {result.problem}")
    return job


def _problem(runtime: Runtime, shop_id: int, kind: str, now: datetime, error: str, message: str) -> RepairResult:
    log.warning("woocommerce shop %s: webhooks not checked: %s", shop_id, error)
    with runtime.db.write() as conn:
        add_notice(conn, shop_id, kind, message, now)
    return RepairResult(shop_id, problem=error)
