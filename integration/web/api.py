"""JSON API `/api/v1`: per-shop bearer keys; parse, call one use case, render.

HTTP codes are chosen here and nowhere else. A key for one shop sees nothing of another: every
query takes the shop id that the key resolved to, and a member of another shop is simply not found.
"""
from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from integration import views
from integration.db import repo
from integration.outbox import claim
from integration.ports import LoyaltyError
from integration.program import ProgramError, program_to_dict
from integration.replay import replay
from integration.redemption import (
    InsufficientPointsError,
    InvalidAdjustmentError,
    UnknownRewardError,
    adjust,
    redeem,
    update_program,
)
from integration.runtime import Runtime
from integration.shops import shop_for_key
from integration.web.openapi import OPENAPI

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

ERROR_STATUS = {
    repo.NotFoundError: 404, UnknownRewardError: 422, InsufficientPointsError: 409,
    InvalidAdjustmentError: 422, ProgramError: 422, repo.LedgerConflictError: 409,
}


def _runtime() -> Runtime:
    return current_app.extensions["loyalty"]


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@blueprint.errorhandler(ApiError)
def _api_error(error: ApiError):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.message, **error.extra}), error.status


@blueprint.errorhandler(LoyaltyError)
def _domain_error(error: LoyaltyError):  # type: ignore[no-untyped-def]
    status = next((code for kind, code in ERROR_STATUS.items() if isinstance(error, kind)), 400)
    body: dict[str, Any] = {"error": str(error)}
    if isinstance(error, ProgramError):
        body = {"error": "the program has problems", "problems": [
            {"field": p.field, "message": p.message} for p in error.problems]}
    return jsonify(body), status


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.description}), error.code


@blueprint.before_request
def _authenticate():  # type: ignore[no-untyped-def]
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "send 'Authorization: Bearer <api key>' (create one with `loyalty api-key create`)")
    with _runtime().db.read() as conn:
        shop_id = shop_for_key(conn, key.strip())
    if shop_id is None:
        raise ApiError(401, "unknown or revoked API key")
    g.shop_id = shop_id
    return None


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


@blueprint.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(OPENAPI)


@blueprint.get("/members")
def list_members():  # type: ignore[no-untyped-def]
    email, customer_id = request.args.get("email"), request.args.get("customer_id")
    if not email and not customer_id:
        raise ApiError(400, "give ?email= or ?customer_id=")
    runtime = _runtime()
    with runtime.db.read() as conn:
        ids = views.find_members(conn, g.shop_id, email=email, customer_id=customer_id)
        return jsonify({"members": [views.member_view(conn, g.shop_id, i, runtime.clock()) for i in ids]})


@blueprint.get("/members/<int:member_id>")
def get_member(member_id: int):  # type: ignore[no-untyped-def]
    runtime = _runtime()
    with runtime.db.read() as conn:
        return jsonify(views.member_view(conn, g.shop_id, member_id, runtime.clock()))


@blueprint.get("/members/<int:member_id>/ledger")
def get_ledger(member_id: int):  # type: ignore[no-untyped-def]
    limit = min(request.args.get("limit", 100, type=int) or 100, 500)
    with _runtime().db.read() as conn:
        views.member_view(conn, g.shop_id, member_id, _runtime().clock())  # 404 for other shops
        return jsonify({"entries": views.ledger_view(conn, g.shop_id, member_id, limit,
                                                     request.args.get("before_id", type=int))})


@blueprint.post("/members/<int:member_id>/redemptions")
def create_redemption(member_id: int):  # type: ignore[no-untyped-def]
    runtime = _runtime()
    reward_id = _json().get("reward_id")
    if not isinstance(reward_id, str) or not reward_id:
        raise ApiError(400, "reward_id (text) is required")
    key = request.headers.get("Idempotency-Key")
    with runtime.db.write() as conn:
        row = redeem(conn, g.shop_id, member_id, reward_id, runtime.clock(), idempotency_key=key)
    if row.status == "pending":
        row = _deliver_now(runtime, row)
    return jsonify(views.redemption_view(row)), 201 if row.status != "failed" else 502


def _deliver_now(runtime: Runtime, row: Any) -> Any:
    """Try the store write at once so the customer sees the code; the outbox retries otherwise."""
    from sqlalchemy import select

    from integration.db.tables import outbox, redemptions
    with runtime.db.read() as conn:
        pending = conn.execute(select(outbox.c.id).where(
            outbox.c.shop_id == row.shop_id, outbox.c.dedupe_key == f"code:{row.id}",
            outbox.c.status == "pending")).scalar()
    if pending is not None:
        runner = runtime.outbox_runner()
        for claimed in claim(runtime.db, runtime.clock(), 1, only_id=pending):
            runner.deliver(claimed, runtime.clock())
    with runtime.db.read() as conn:
        return conn.execute(select(redemptions).where(redemptions.c.id == row.id)).one()


@blueprint.post("/members/<int:member_id>/adjustments")
def create_adjustment(member_id: int):  # type: ignore[no-untyped-def]
    data = _json()
    key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
    runtime = _runtime()
    with runtime.db.write() as conn:
        entry = adjust(conn, g.shop_id, member_id, data.get("points"), data.get("reason") or "",  # type: ignore[arg-type]
                       runtime.clock(), key=f"{member_id}:{key}")
    with runtime.db.read() as conn:
        member = views.member_view(conn, g.shop_id, member_id, runtime.clock())
    return jsonify({"entry_id": entry.id, "points": entry.points, "created": entry.created,
                    "balance": member["points"]}), 201 if entry.created else 200


@blueprint.get("/program")
def get_program():  # type: ignore[no-untyped-def]
    with _runtime().db.read() as conn:
        return jsonify(program_to_dict(repo.current_program(conn, g.shop_id)))


@blueprint.put("/program")
def put_program():  # type: ignore[no-untyped-def]
    runtime = _runtime()
    with runtime.db.write() as conn:
        program = update_program(conn, g.shop_id, _json(), runtime.clock(), note="api")
    return jsonify(program_to_dict(program))


@blueprint.get("/rewards")
def get_rewards():  # type: ignore[no-untyped-def]
    with _runtime().db.read() as conn:
        return jsonify({"rewards": views.rewards_view(repo.current_program(conn, g.shop_id))})


@blueprint.get("/events")
def get_events():  # type: ignore[no-untyped-def]
    status = request.args.get("status")
    if status not in (None, "pending", "done", "failed"):
        raise ApiError(400, "status must be pending, done or failed")
    with _runtime().db.read() as conn:
        return jsonify({"events": views.events_view(conn, g.shop_id, status)})


@blueprint.post("/events/<int:event_id>/replay")
def replay_event(event_id: int):  # type: ignore[no-untyped-def]
    runtime = _runtime()
    if not replay(runtime.db, event_id, runtime.clock(), shop_id=g.shop_id):
        raise ApiError(404, f"no event {event_id} to replay in this shop")
    return jsonify({"id": event_id, "status": "pending"}), 202


@blueprint.get("/stats")
def get_stats():  # type: ignore[no-untyped-def]
    with _runtime().db.read() as conn:
        return jsonify(views.stats_view(conn, g.shop_id))
