"""`make run` on a fresh clone answers GET /healthz with 200 within 60 s.

It creates its own virtualenv and installs from the package index, so it runs only when asked
(`LOYALTY_TEST_MAKE_RUN=1`, as .ci/run does once)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.environ.get("LOYALTY_TEST_MAKE_RUN") != "1",
                                reason="set LOYALTY_TEST_MAKE_RUN=1 (it installs a fresh virtualenv)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_on_a_fresh_clone_is_healthy_within_60_seconds(tmp_path):  # type: ignore[no-untyped-def]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LOYALTY_", "VIRTUAL_ENV"))}
    env["LOYALTY_SERVER__PORT"] = str(port)
    started = time.monotonic()
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        status = None
        while time.monotonic() - started < 60 and process.poll() is None:
            try:
                status = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                if status == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        elapsed = time.monotonic() - started
        print(f"make run: healthz {status} after {elapsed:.1f} s")
        assert status == 200 and elapsed < 60, log.read_text()
        assert (clone / "var" / "loyalty.db").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
