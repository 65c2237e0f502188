"""The composition root: the only module that imports adapters and wires the process together."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from flask import Flask, g, jsonify, request
from sqlalchemy.exc import DataError, SQLAlchemyError
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from integration.config import Settings
from integration.crypto import SecretBox
from integration.db import Database
from integration.ports import StorePlatform
from integration.runtime import Runtime
from integration.shops import TokenRefresher

log = logging.getLogger(__name__)


def default_platforms(settings: Settings) -> dict[str, StorePlatform]:
    from adapters.shopify import ShopifyPlatform
    from adapters.woocommerce import WooCommercePlatform

    return {
        "shopify": ShopifyPlatform(admin_url=settings.shopify.admin_url, api_version=settings.shopify.api_version),
        "woocommerce": WooCommercePlatform(timeout=settings.woocommerce.timeout_seconds,
                                           verify_tls=settings.woocommerce.verify_tls),
    }


def default_token_refreshers(settings: Settings, now: Callable[[], datetime]) -> dict[str, TokenRefresher]:
    """Shopify public apps hold expiring offline tokens; refreshing needs the app's credentials."""
    if not (settings.shopify.api_key and settings.shopify.api_secret):
        return {}
    from adapters.shopify import tokens

    app = tokens.OAuthApp(settings.shopify.api_key, settings.shopify.api_secret,
                          admin_url=settings.shopify.admin_url, now=now)
    return {"shopify": lambda domain, refresh_token: tokens.refresh(app, domain, refresh_token)}


def build_runtime(settings: Settings, platforms: Mapping[str, StorePlatform] | None = None,
                  db: Database | None = None) -> Runtime:
    runtime = Runtime(
        settings=settings,
        db=db or Database(settings.database.url, pool_size=settings.database.pool_size, echo=settings.database.echo),
        box=SecretBox(settings.server.encryption_key, settings.server.secret_key),
        platforms=platforms if platforms is not None else default_platforms(settings),
        app_secrets={"shopify": (settings.shopify.api_secret, settings.shopify.previous_api_secret)},
    )
    runtime.token_refreshers = default_token_refreshers(settings, lambda: runtime.clock())  # a test may swap the clock
    if platforms is None:
        observe_store_costs(runtime)
    return runtime


def observe_store_costs(runtime: Runtime) -> None:
    """Shopify's answers report its bucket (throttleStatus): count throttling for /metrics and keep
    the workers' shared per-shop budget (integration/budgets.py) in step with it."""
    from integration import budgets, metrics
    client = getattr(runtime.platforms.get("shopify"), "client", None)
    if client is None or not hasattr(client, "on_cost"):
        return

    def on_cost(domain: str, status: Mapping[str, object], throttled: bool, wait: float) -> None:
        if throttled:
            metrics.store_throttled("shopify", wait)
        if status:
            try:
                budgets.observe(runtime.db, "shopify", domain, status)
            except SQLAlchemyError:  # the budget is advisory: a store call never fails for it
                log.warning("store budget for %s not updated", domain, exc_info=True)

    client.on_cost = on_cost


def create_app(runtime: Runtime) -> Flask:
    from integration.web import api, shopify_app, woocommerce_app
    from webhooks import ingest

    app = Flask(__name__)
    app.url_map.converters["int"] = DatabaseId  # before any route: an id past 64 bits is a 404, not a 500
    app.config.update(SECRET_KEY=runtime.settings.server.secret_key,
                      MAX_CONTENT_LENGTH=runtime.settings.server.max_body_bytes, JSON_SORT_KEYS=False)
    app.extensions["loyalty"] = runtime
    app.register_blueprint(ingest.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(shopify_app.blueprint)
    app.register_blueprint(woocommerce_app.blueprint)
    from flask_babel import Babel

    from integration.web import portal, proxy
    Babel(app, locale_selector=portal.babel_locale)  # catalogs in web/translations (portal, emails)
    app.register_blueprint(portal.blueprint)
    app.register_blueprint(proxy.blueprint)
    from integration.web import referral
    app.register_blueprint(referral.blueprint)  # /r/<code>: a member's referral link
    from integration.web import admin
    app.register_blueprint(admin.blueprint)  # the merchant's pages under /admin

    _observability(app, runtime)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():  # type: ignore[no-untyped-def]
        if runtime.db.ping():
            return jsonify({"status": "ready"})
        return jsonify({"status": "database unreachable"}), 503

    return app


class DatabaseId(IntegerConverter):
    """`<int:…>` in every route: at most 2**63 - 1, the largest key PostgreSQL and SQLite hold."""

    def __init__(self, url_map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def _observability(app: Flask, runtime: Runtime) -> None:
    """`/metrics`, request ids (X-Request-Id in and out, stamped on every log line), and a JSON
    413 for a body over `server.max_body_bytes`."""
    from integration import logs, metrics
    app.add_url_rule("/metrics", "metrics", metrics.view(runtime, runtime.settings.server.metrics_token))

    @app.before_request
    def _request_id():  # type: ignore[no-untyped-def]
        g.request_id_token = logs.REQUEST_ID.set(logs.request_id_from(request.headers.get("X-Request-Id")))

    @app.after_request
    def _echo_request_id(response):  # type: ignore[no-untyped-def]
        response.headers["X-Request-Id"] = logs.REQUEST_ID.get()
        return response

    @app.teardown_request
    def _forget_request_id(_error):  # type: ignore[no-untyped-def]
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                logs.REQUEST_ID.reset(token)
            except ValueError:  # set in another context: nothing of ours to undo
                pass

    @app.errorhandler(NotFound)
    @app.errorhandler(MethodNotAllowed)
    def _json_for_machines(error):  # type: ignore[no-untyped-def]
        """The API and webhook senders read JSON, even for a path or method that does not exist."""
        if request.path.startswith(("/api/", "/webhooks/")):
            return jsonify({"error": error.description}), error.code
        return error

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(error):  # type: ignore[no-untyped-def]
        """A number too large for the database (SQLite's OverflowError, PostgreSQL's data exceptions
        such as a negative LIMIT) came from the request: the sender's mistake, not a crash."""
        log.warning("%s %s: value out of range: %s", request.method, request.path, type(error).__name__)
        return jsonify({"error": "a value in the request is out of range"}), 400

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):  # type: ignore[no-untyped-def]
        limit = runtime.settings.server.max_body_bytes
        return jsonify({"error": f"the request body is larger than {limit} bytes (server.max_body_bytes)"}), 413


def start_background(runtime: Runtime, stop: threading.Event) -> list[threading.Thread]:
    """The embedded default: the inbox worker (with the outbox) and, unless disabled, the
    scheduler, as threads of `loyalty serve`."""
    from scheduler.service import run_scheduler
    from webhooks.worker import run_worker

    threads = [threading.Thread(target=run_worker, args=(runtime, stop), name="loyalty-worker", daemon=True)]
    if runtime.settings.scheduler.enabled:
        threads.append(threading.Thread(target=run_scheduler, name="loyalty-scheduler", daemon=True,
                                        args=(runtime, stop, runtime.settings.scheduler.leader_retry_seconds)))
    for thread in threads:
        thread.start()
    return threads
