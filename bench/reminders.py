"""Reminder run over many members: `python -m bench.reminders [--members 1000000] [--send 20000]`.

Generates members (consenting, with points) in a fresh SQLite database (or PostgreSQL with
`--database postgresql`), runs the `reminders` job (which queues one email per member due, in
batches), then renders and writes emails with the file transport. Prints the job's run time and
peak memory, and the send rate; `--send` caps how many are rendered (0 = all).
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select

from bench.__main__ import TempDatabase, progress
from integration.config import build_settings
from integration.db.tables import emails, members
from integration.web.bootstrap import build_runtime
from scheduler.jobs import reminders

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


def generate(temp: TempDatabase, count: int) -> None:
    enrolled = NOW - timedelta(days=40)
    chunk = 20_000
    for start in range(0, count, chunk):
        rows = [{"shop_id": temp.shop_id, "customer_id": str(i), "email": f"member{i}@example.com",
                 "first_name": "Member", "accepts_marketing": True, "balance": 50 + i % 700,
                 "lifetime_points": 50 + i % 700, "orders_count": 1 + i % 5, "total_spent": 10 + i % 300,
                 "enrolled_at": enrolled, "unsubscribed": False, "redacted": False}
                for i in range(start, min(start + chunk, count))]
        with temp.db.write() as conn:
            conn.execute(insert(members), rows)
        progress("generating members", min(start + chunk, count), count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--send", type=int, default=20_000, help="emails to render and write (0 = all)")
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    temp = TempDatabase(args.database)
    mail_dir = tempfile.mkdtemp(prefix="loyalty-bench-mail-")
    try:
        generate(temp, args.members)
        settings = build_settings({"server": {"secret_key": "bench"}, "database": {"url": temp.url},
                                   "email": {"transport": "file", "directory": mail_dir}}, environ={})
        runtime = build_runtime(settings, platforms={}, db=temp.db)
        tracemalloc.start()
        started = time.perf_counter()
        result = reminders(runtime, temp.shop_id, NOW)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        with temp.db.read() as conn:
            queued = conn.execute(select(func.count()).select_from(emails)).scalar_one()
        print(f"reminders job [{args.database}]: {args.members:,} members, {queued:,} reminders queued in "
              f"{elapsed:.1f} s ({args.members / elapsed:,.0f} members/s); peak traced memory "
              f"{peak / 2**20:.1f} MiB, process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        assert result.changed == queued
        from integration.notifications import deliver_due_emails
        target = queued if args.send == 0 else min(args.send, queued)
        sent = 0
        started = time.perf_counter()
        while sent < target:
            handled = deliver_due_emails(runtime, NOW, limit=min(200, target - sent))
            if not handled:
                break
            sent += handled
            progress("sending (file transport)", sent, target)
        elapsed = time.perf_counter() - started
        print(f"reminder emails rendered and written: {sent:,} in {elapsed:.1f} s ({sent / elapsed:,.0f}/s)")
    finally:
        temp.close()
        shutil.rmtree(mail_dir, ignore_errors=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
