"""`POST /webhooks/<platform>[/<shop id>]`: verify, store durably, answer 200, nothing more.

Status codes are a contract with the sender: 200 for stored, duplicate or "not ours"; 401 for a
bad signature (nothing stored, logged); 503 when storing failed, so a platform that retries will.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from integration import metrics
from integration.db.tables import shops
from integration.events import Delivery
from integration.runtime import Runtime
from integration.shops import webhook_secrets
from webhooks.inbox import store_delivery

log = logging.getLogger(__name__)
blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _runtime() -> Runtime:
    return current_app.extensions["loyalty"]


@blueprint.post("/<platform_name>")
@blueprint.post("/<platform_name>/<int:shop_id>")
def receive(platform_name: str, shop_id: int | None = None):  # type: ignore[no-untyped-def]
    g.webhook_started = time.perf_counter()
    runtime = _runtime()
    platform = runtime.platforms.get(platform_name)
    if platform is None:
        return _answer(404, "unknown platform")
    body = request.get_data(cache=False)
    headers = {key: value for key, value in request.headers.items()}
    is_ping = getattr(platform, "is_ping", None)
    if is_ping is not None and is_ping(headers, body):
        return _answer(200, "pong")
    try:
        delivery = platform.inspect(headers, body)
    except Exception:  # noqa: BLE001 - malformed headers are the sender's problem, not a crash
        log.warning("webhook %s: unreadable headers", platform_name)
        return _answer(400, "missing webhook headers")
    try:
        with runtime.db.read() as conn:  # SQLite has one writer: take its lock only to store
            status, message, shop = _verify(conn, runtime, platform, platform_name, shop_id, delivery, headers, body)
        if shop is not None:
            new = store_delivery(runtime.db, shop_id=shop.id, platform=platform_name, delivery=delivery,
                                 headers=headers, body=body, now=runtime.clock())
            status, message = 200, "stored" if new else "duplicate"
    except SQLAlchemyError:
        log.exception("webhook %s: could not store delivery %s", platform_name, delivery.delivery_id)
        return _answer(503, "try again")
    return _answer(status, message)


def _verify(conn: Connection, runtime: Runtime, platform: Any, platform_name: str, shop_id: int | None,
            delivery: Delivery, headers: dict[str, str], body: bytes) -> tuple[int, str, Any]:
    """The answer for a delivery that must not be stored, or the shop to store it for."""
    shop = _shop(conn, platform_name, shop_id, delivery.shop_domain)
    try:
        secrets = webhook_secrets(runtime.box, shop, runtime.app_secrets.get(platform_name, ()))
    except ValueError:  # the encryption key changed without a rotation: the operator must fix it
        log.error("webhook %s shop %s: its secret cannot be decrypted (check server.encryption_key)",
                  platform_name, shop.id if shop is not None else "?")
        return 503, "try again", None
    if not secrets or not platform.verify(headers, body, secrets):
        log.warning("webhook %s topic=%s shop=%s: bad signature, rejected", platform_name, delivery.topic,
                    shop.id if shop is not None else delivery.shop_domain)
        return 401, "invalid signature", None
    g.webhook_topic = delivery.topic  # verified: worth a metrics label
    if shop is None:
        return 200, "not ours: unknown shop", None
    return 200, "", shop


def _shop(conn: Connection, platform_name: str, shop_id: int | None, domain: str | None) -> Any:
    """The few columns ingest needs, by the id in the URL (WooCommerce) or the domain header."""
    statement = select(shops.c.id, shops.c.webhook_secret).where(shops.c.platform == platform_name)
    if shop_id is not None:
        return conn.execute(statement.where(shops.c.id == shop_id)).first()
    return conn.execute(statement.where(shops.c.domain == domain)).first() if domain else None


OUTCOMES = {"stored": "stored", "duplicate": "duplicate", "invalid signature": "bad_signature",
            "try again": "unavailable", "not ours: unknown shop": "not_ours", "pong": "ping",
            "missing webhook headers": "bad_headers", "unknown platform": "unknown_platform"}


def _answer(status: int, message: str):  # type: ignore[no-untyped-def]
    started = g.get("webhook_started")
    metrics.delivery((request.view_args or {}).get("platform_name", "?") if status != 404 else "unknown",
                     g.get("webhook_topic"), OUTCOMES.get(message, "other"),
                     time.perf_counter() - started if started is not None else None)
    return jsonify({"status": message}), status
