"""WSGI entry point for gunicorn: `gunicorn 'integration.wsgi:app'`.

Web processes only answer requests; run `loyalty worker` processes beside them to drain the inbox.
Configuration as for the CLI (`LOYALTY_CONFIG` and `LOYALTY_<SECTION>__<KEY>`)."""
from __future__ import annotations

from integration.config import load_settings
from integration.web.bootstrap import build_runtime, create_app

app = create_app(build_runtime(load_settings()))
