"""Running jobs: on demand (`loyalty jobs run NAME`) and on a schedule (`loyalty scheduler`, and a
thread of `loyalty serve`), with APScheduler 3 keeping its schedule in the database.

Only the leader (scheduler/leader.py) starts APScheduler. Each scheduled run first claims its
period in `job_runs` (UNIQUE(job, shop, period)): a period whose run finished is never run again,
even by a new leader after a failover; a run that died half-way is resumed, which is safe because
every job is idempotent.
"""
from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from integration import metrics
from integration.db import repo
from integration.db.tables import job_runs, shops
from integration.runtime import Runtime
from scheduler.jobs import JOBS, JobResult
from scheduler.leader import Leadership

log = logging.getLogger(__name__)
NODE = f"{socket.gethostname()}:{__import__('os').getpid()}"


@dataclass(frozen=True, slots=True)
class Schedule:
    job: str
    every: timedelta


SCHEDULES = (
    Schedule("outbox", timedelta(minutes=1)),
    Schedule("reconcile", timedelta(minutes=15)),
    Schedule("repair-webhooks", timedelta(minutes=15)),
    Schedule("expire-points", timedelta(hours=1)),
    Schedule("expire-codes", timedelta(hours=1)),
    Schedule("memberships", timedelta(hours=1)),
    Schedule("tiers", timedelta(hours=6)),
    Schedule("birthdays", timedelta(hours=1)),
    Schedule("reminders", timedelta(hours=1)),
    Schedule("referrals", timedelta(hours=1)),
)


def period_of(every: timedelta, now: datetime) -> str:
    """The slot `now` falls in, e.g. 2026-03-01T14:00 for an hourly job."""
    seconds = int(every.total_seconds())
    start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, timezone.utc)
    return start.strftime("%Y-%m-%dT%H:%M")


def active_shops(runtime: Runtime, shop_id: int | None = None) -> list[int]:
    with runtime.db.read() as conn:
        statement = select(shops.c.id).where(shops.c.status == "active").order_by(shops.c.id)
        if shop_id is not None:
            statement = select(shops.c.id).where(shops.c.id == shop_id)
        return list(conn.execute(statement).scalars())


def run_job(runtime: Runtime, name: str, now: datetime, shop_id: int | None = None,
            period: str | None = None) -> list[JobResult]:
    """Run one job for one shop or every active shop. With `period`, a shop whose run for that
    period is done is skipped; without it (on demand) the job always runs."""
    job = JOBS[name]
    results = []
    for shop in active_shops(runtime, shop_id):
        if period is not None and not _claim(runtime, name, shop, period, now):
            continue
        try:
            result = job(runtime, shop, now)
        except Exception as error:  # noqa: BLE001 - one shop's failure must not stop the others
            log.exception("job %s failed for shop %s", name, shop)
            metrics.job_run(name, "failed")
            if period is not None:
                _finish(runtime, name, shop, period, now, error=repr(error))
            continue
        metrics.job_run(name, "done")
        if period is not None:
            _finish(runtime, name, shop, period, now, result=result)
        log.info("ran %s period %s", result, period or "on demand")
        results.append(result)
    return results


def _claim(runtime: Runtime, name: str, shop_id: int, period: str, now: datetime) -> bool:
    with runtime.db.write() as conn:
        created = repo.insert_once(conn, job_runs, {
            "job": name, "shop_id": shop_id, "period": period, "status": "running", "node": NODE,
            "processed": 0, "changed": 0, "started_at": now}, ["job", "shop_id", "period"])
        if created is not None:
            return True
        status = conn.execute(select(job_runs.c.status).where(
            job_runs.c.job == name, job_runs.c.shop_id == shop_id, job_runs.c.period == period)).scalar()
        if status == "done":
            return False
        conn.execute(update(job_runs).where(job_runs.c.job == name, job_runs.c.shop_id == shop_id,
                                            job_runs.c.period == period).values(node=NODE, status="running"))
        return True  # a run that died half-way: resume it (jobs are idempotent)


def _finish(runtime: Runtime, name: str, shop_id: int, period: str, now: datetime,
            result: JobResult | None = None, error: str | None = None) -> None:
    with runtime.db.write() as conn:
        conn.execute(update(job_runs).where(job_runs.c.job == name, job_runs.c.shop_id == shop_id,
                                            job_runs.c.period == period).values(
            status="failed" if error else "done", error=error, finished_at=now,
            processed=result.processed if result else 0, changed=result.changed if result else 0))


# -- the scheduled loop ----------------------------------------------------------------------

_RUNTIME: Runtime | None = None


def tick(name: str) -> None:
    """The function APScheduler stores (by reference, so the job store survives restarts)."""
    assert _RUNTIME is not None, "scheduler not started"
    now = _RUNTIME.clock()
    every = next(s.every for s in SCHEDULES if s.job == name)
    run_job(_RUNTIME, name, now, period=period_of(every, now))


def run_scheduler(runtime: Runtime, stop: threading.Event, retry_seconds: float = 10.0) -> None:
    """Follow until this process wins the leadership, lead until it is lost or `stop` is set."""
    global _RUNTIME
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    _RUNTIME = runtime
    leadership = Leadership(runtime.db)
    while not stop.is_set():
        if not leadership.try_acquire():
            stop.wait(retry_seconds)
            continue
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=runtime.db.engine, tablename="apscheduler_jobs")},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}, timezone="UTC")
        for schedule in SCHEDULES:
            scheduler.add_job(tick, "interval", args=[schedule.job], id=schedule.job, replace_existing=True,
                              seconds=int(schedule.every.total_seconds()), next_run_time=runtime.clock())
        scheduler.start()
        log.info("scheduler started on %s", NODE)
        while not stop.is_set() and leadership.alive():
            stop.wait(retry_seconds)
        scheduler.shutdown(wait=True)
    leadership.release()
    log.info("scheduler stopped")
