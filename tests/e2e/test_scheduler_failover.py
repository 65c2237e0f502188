"""Two scheduler processes on PostgreSQL: one leads; kill it and the other takes over; no job
runs twice for the same period."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from integration.crypto import SecretBox
from integration.db.tables import job_runs
from integration.shops import add_shop
from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="leader election is a PostgreSQL advisory lock")


def start(db_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "LOYALTY_DATABASE__URL": db_url, "LOYALTY_SERVER__SECRET_KEY": "k",
           "LOYALTY_SCHEDULER__LEADER_RETRY_SECONDS": "0.5"}
    with log.open("wb") as output:
        return subprocess.Popen([sys.executable, "-m", "integration.cli", "scheduler"], cwd=ROOT, env=env,
                                stdout=output, stderr=subprocess.STDOUT)


def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_one_leader_then_failover(db, db_url, tmp_path):  # type: ignore[no-untyped-def]
    with db.write() as conn:
        add_shop(conn, SecretBox("", "k"), platform="fake", domain="lead.example", now=datetime.now(timezone.utc))

    def runs(node_pid: int | None = None) -> int:
        with db.read() as conn:
            statement = select(func.count()).select_from(job_runs).where(job_runs.c.status == "done")
            if node_pid is not None:
                statement = statement.where(job_runs.c.node.like(f"%:{node_pid}"))
            return conn.execute(statement).scalar_one()

    first = start(db_url, tmp_path / "first.log")
    assert wait_for(lambda: runs(first.pid) >= 6, 30), (tmp_path / "first.log").read_text()
    second = start(db_url, tmp_path / "second.log")
    try:
        time.sleep(3)
        assert runs(second.pid) == 0  # a follower runs nothing
        assert "scheduler leader" not in (tmp_path / "second.log").read_text()
        before = runs()
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert wait_for(lambda: "scheduler leader" in (tmp_path / "second.log").read_text(), 60)
        time.sleep(2)  # the new leader starts every job at once; this period's are already done
    finally:
        second.terminate()
        second.wait(20)
    # every (job, shop, period) ran once, across both processes' logs
    import re
    ran = re.findall(r"ran (\S+) shop (\d+): .* period (\S+)",
                     (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text())
    assert len(ran) >= 6
    assert len(ran) == len(set(ran)), sorted(ran)
    assert runs() >= before
