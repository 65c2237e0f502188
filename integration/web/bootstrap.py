"""The composition root: the only module that imports adapters and wires the process together."""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from flask import Flask, jsonify

from integration.config import Settings
from integration.crypto import SecretBox
from integration.db import Database
from integration.ports import StorePlatform
from integration.runtime import Runtime

log = logging.getLogger(__name__)


def default_platforms(settings: Settings) -> dict[str, StorePlatform]:
    from adapters.shopify import ShopifyPlatform
    from adapters.woocommerce import WooCommercePlatform

    return {
        "shopify": ShopifyPlatform(admin_url=settings.shopify.admin_url, api_version=settings.shopify.api_version),
        "woocommerce": WooCommercePlatform(timeout=settings.woocommerce.timeout_seconds,
                                           verify_tls=settings.woocommerce.verify_tls),
    }


def build_runtime(settings: Settings, platforms: Mapping[str, StorePlatform] | None = None,
                  db: Database | None = None) -> Runtime:
    return Runtime(
        settings=settings,
        db=db or Database(settings.database.url, pool_size=settings.database.pool_size, echo=settings.database.echo),
        box=SecretBox(settings.server.encryption_key, settings.server.secret_key),
        platforms=platforms if platforms is not None else default_platforms(settings),
        app_secrets={"shopify": (settings.shopify.api_secret, settings.shopify.previous_api_secret)},
    )


def create_app(runtime: Runtime) -> Flask:
    from integration.web import api
    from webhooks import ingest

    app = Flask(__name__)
    app.config.update(SECRET_KEY=runtime.settings.server.secret_key,
                      MAX_CONTENT_LENGTH=runtime.settings.server.max_body_bytes, JSON_SORT_KEYS=False)
    app.extensions["loyalty"] = runtime
    app.register_blueprint(ingest.blueprint)
    app.register_blueprint(api.blueprint)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():  # type: ignore[no-untyped-def]
        if runtime.db.ping():
            return jsonify({"status": "ready"})
        return jsonify({"status": "database unreachable"}), 503

    return app


def start_background(runtime: Runtime, stop: threading.Event) -> list[threading.Thread]:
    """The embedded default: the inbox worker and the outbox runner as threads of `loyalty serve`."""
    from webhooks.worker import run_worker

    thread = threading.Thread(target=run_worker, args=(runtime, stop), name="loyalty-worker", daemon=True)
    thread.start()
    return [thread]
