"""The fault harness: things going wrong at the worst moment, each test telling what it did
(`-s` shows the lines: sent, credited, duplicates, lost) and asserting the ledger totals.

A worker SIGKILLed mid-batch is tests/e2e/test_worker_kill.py (not repeated here). Restarting
PostgreSQL uses a throw-away server of our own (initdb + pg_ctl on a free port in a temp dir),
never the shared one on 5432 that other test runs use.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import BACKEND
from tests.integration.conftest import service  # noqa: F401  (the real app on loopback, fake store)


def report(name: str, **figures: object) -> None:
    print(f"\n[fault] {name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class OwnPostgres:
    """A PostgreSQL server started for one test; `restart()` stops it and starts it again."""

    bin_dir: str
    data_dir: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "-w", "-t", "30", *args]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", f"{self.data_dir}/server.log", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if BACKEND != "postgresql":
        pytest.skip("restarting PostgreSQL under load runs with LOYALTY_TEST_DATABASE=postgresql")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to start a private server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    bin_dir = os.path.dirname(found[-1])
    data_dir = tempfile.mkdtemp(prefix="loyalty-fault-pg-")
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    subprocess.run(_as_postgres([f"{bin_dir}/initdb", "-D", data_dir, "-U", "postgres", "-A", "trust", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    server = OwnPostgres(bin_dir, data_dir, free_port())
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.SubprocessError:
            pass
        time.sleep(0.1)
        shutil.rmtree(data_dir, ignore_errors=True)
