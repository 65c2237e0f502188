"""The bare baseline for `bench/load.py`: the least a webhook receiver can do and still be correct.

A WSGI app that verifies the Shopify HMAC (constant time) and inserts the raw body into SQLite
(WAL, synchronous=NORMAL, like ours), then answers 200. No framework, no shop lookup, no dedupe.
Served by gunicorn exactly as loyalty-bridge is, so the ratio between the two is what our
framework, lookups and durability cost. `BASELINE_DB` names the SQLite file; `BASELINE_SECRET`
the signing secret.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sqlite3
import threading

SECRET = os.environ.get("BASELINE_SECRET", "bench-secret").encode()
PATH = os.environ.get("BASELINE_DB", "baseline.db")
_local = threading.local()


def _connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(PATH, timeout=60, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        _local.conn = conn
    return conn


def app(environ, start_response):  # type: ignore[no-untyped-def]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    given = environ.get("HTTP_X_SHOPIFY_HMAC_SHA256", "")
    expected = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(given, expected):
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [b'{"status": "invalid signature"}']
    _connection().execute("INSERT INTO deliveries (body) VALUES (?)", (body,))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "stored"}']
