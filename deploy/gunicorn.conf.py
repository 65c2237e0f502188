"""gunicorn settings for loyalty-bridge web processes: `gunicorn -c deploy/gunicorn.conf.py integration.wsgi:app`.

Web processes only verify, store and answer (the heavy work is in `loyalty worker`), so a few
processes with threads go far: each thread holds at most one database connection at a time.
Keep (workers × threads) ≤ database.pool_size × 3 per process (pool_size plus its overflow of
2 × pool_size), and the sum over all hosts below PostgreSQL's max_connections.
"""
import os

bind = os.environ.get("LOYALTY_BIND", "127.0.0.1:8000")  # the TLS proxy in front talks to this
workers = int(os.environ.get("LOYALTY_WEB_WORKERS", "2"))  # about one per core
threads = int(os.environ.get("LOYALTY_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 30  # Shopify gives a webhook 5 s: anything slower than that is already lost
graceful_timeout = 20
keepalive = 15  # behind a proxy that reuses connections
max_requests = 10000  # recycle slowly growing processes
max_requests_jitter = 1000
forwarded_allow_ips = os.environ.get("LOYALTY_PROXY_IPS", "127.0.0.1")
accesslog = None  # the proxy logs requests; our own log lines carry the request id
limit_request_field_size = 16384


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    """Logs as the configuration says (server.log_format), secrets redacted."""
    import logging

    from integration.config import load_settings
    from integration.logs import setup_logging
    setup_logging(logging.INFO, load_settings().server.log_format)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """With PROMETHEUS_MULTIPROC_DIR set, forget the dead process's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
