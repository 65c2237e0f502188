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
from integration.links import portal_url
from integration.notices import list_notices, mark_read
from integration.ports import LoyaltyError
from integration.program import ProgramError, program_to_dict
from integration.referrals import NotReviewableError
from integration.replay import replay
from integration.redemption import (
    InsufficientPointsError,
    InvalidAdjustmentError,
    ShopNotActiveError,
    UnknownRewardError,
    adjust,
    redeem,
    update_program,
)
from integration.runtime import Runtime
from integration.shops import shop_for_key
from integration.web.openapi import OPENAPI
from integration.web.store_writes import deliver_now

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

ERROR_STATUS = {
    repo.NotFoundError: 404, UnknownRewardError: 422, InsufficientPointsError: 409,
    InvalidAdjustmentError: 422, ProgramError: 422, repo.LedgerConflictError: 409, ShopNotActiveError: 409,
    NotReviewableError: 409,
}


REFERRAL_STATUSES = ("invited", "review", "pending", "credited", "reversed", "blocked", "rejected")


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
        return jsonify({"members": [_member(conn, runtime, i) for i in ids]})


@blueprint.get("/members/<int:member_id>")
def get_member(member_id: int):  # type: ignore[no-untyped-def]
    runtime = _runtime()
    with runtime.db.read() as conn:
        return jsonify(_member(conn, runtime, member_id))


def _member(conn: Any, runtime: Runtime, member_id: int) -> dict[str, Any]:
    """The member resource, with the signed link to their portal page (for the store's emails)."""
    now, server = runtime.clock(), runtime.settings.server
    view = views.member_view(conn, g.shop_id, member_id, now)
    return {**view, "portal_url": portal_url(server.base_url, server.secret_key, g.shop_id, member_id, now)}


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
        row = deliver_now(runtime, row)
    return jsonify(views.redemption_view(row)), 201 if row.status != "failed" else 502


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


@blueprint.get("/referrals")
def get_referrals():  # type: ignore[no-untyped-def]
    from integration import referral_reports, referrals
    status = request.args.get("status")
    if status not in (None, *REFERRAL_STATUSES):
        raise ApiError(400, "status must be one of " + ", ".join(REFERRAL_STATUSES))
    limit = min(request.args.get("limit", 100, type=int) or 100, 500)
    with _runtime().db.read() as conn:
        rows = referrals.list_referrals(conn, g.shop_id, status, limit, request.args.get("before_id", type=int))
        summary = referral_reports.summary_view(referral_reports.summary(conn, g.shop_id))
    return jsonify({"referrals": [referrals.referral_view(row) for row in rows], "summary": summary})


@blueprint.post("/referrals/<int:referral_id>/approve")
def approve_referral(referral_id: int):  # type: ignore[no-untyped-def]
    from integration import referrals
    runtime = _runtime()
    with runtime.db.write() as conn:
        referrals.approve(conn, g.shop_id, referral_id, runtime.clock())
    return _referral(referral_id)


@blueprint.post("/referrals/<int:referral_id>/reject")
def reject_referral(referral_id: int):  # type: ignore[no-untyped-def]
    from integration import referrals
    data = request.get_json(silent=True) or {}
    reason = data.get("reason") if isinstance(data, dict) else None
    runtime = _runtime()
    with runtime.db.write() as conn:
        referrals.reject(conn, g.shop_id, referral_id, reason if isinstance(reason, str) else "", runtime.clock())
    return _referral(referral_id)


def _referral(referral_id: int):  # type: ignore[no-untyped-def]
    from integration import referrals
    with _runtime().db.read() as conn:
        (row,) = referrals.list_referrals(conn, g.shop_id, referral_id=referral_id)
    return jsonify(referrals.referral_view(row))


@blueprint.get("/notices")
def get_notices():  # type: ignore[no-untyped-def]
    unread = request.args.get("unread", "").lower() in ("1", "true", "yes")
    with _runtime().db.read() as conn:
        return jsonify({"notices": [views.notice_view(row) for row in list_notices(conn, g.shop_id, unread_only=unread)]})


@blueprint.post("/notices/<int:notice_id>/read")
def read_notice(notice_id: int):  # type: ignore[no-untyped-def]
    runtime = _runtime()
    with runtime.db.write() as conn:
        if not mark_read(conn, g.shop_id, notice_id, runtime.clock()):
            raise ApiError(404, f"no notice {notice_id} in this shop")
    return jsonify({"id": notice_id, "read": True})
