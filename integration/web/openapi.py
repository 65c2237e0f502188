"""The OpenAPI 3.1 document served at `/api/v1/openapi.json` (kept beside the routes it describes;
a test checks that every route of the blueprint is documented)."""
from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict[str, Any], description: str = "OK", status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}},
            "default": {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}}}


MEMBER_ID = {"name": "member_id", "in": "path", "required": True, "schema": {"type": "integer"}}
REFERRAL_ID = {"name": "referral_id", "in": "path", "required": True, "schema": {"type": "integer"}}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
                   "description": "A retried request with the same key returns the first result."}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}}}},
    "Reward": {"type": "object", "properties": {
        "reward_id": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string", "enum": [
            "free_product", "amount_off", "percent_off", "free_shipping", "donation"]},
        "points_cost": {"type": "integer"}, "value": {"type": "string"}}},
    "Member": {"type": "object", "properties": {
        "id": {"type": "integer"}, "customer_id": {"type": "string"}, "email": {"type": ["string", "null"]},
        "points": {"type": "integer", "description": "Balance: the sum of the ledger (may be negative)."},
        "spendable_points": {"type": "integer"}, "pending_points": {"type": "integer"},
        "lifetime_points": {"type": "integer"}, "tier": {"type": ["string", "null"]},
        "membership": {"type": ["object", "null"]}, "next_reward": {"oneOf": [_ref("Reward"), {"type": "null"}]},
        "points_needed": {"type": "integer"}, "claimable_rewards": {"type": "array", "items": _ref("Reward")},
        "portal_url": {"type": "string"}}},
    "LedgerEntry": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "points": {"type": "integer"},
        "source_key": {"type": "string"}, "order_id": {"type": ["string", "null"]},
        "program_version": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"}}},
    "Redemption": {"type": "object", "properties": {
        "id": {"type": "integer"}, "reward_id": {"type": "string"}, "points": {"type": "integer"},
        "code": {"type": ["string", "null"]}, "status": {"type": "string", "enum": [
            "pending", "issued", "failed", "expired"]}, "url": {"type": ["string", "null"]},
        "expires_at": {"type": ["string", "null"], "format": "date-time"}}},
    "Program": {"type": "object", "description": "The merchant's program rules (see README)."},
    "Notice": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "message": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "read_at": {"type": ["string", "null"], "format": "date-time"}}},
    "Referral": {"type": "object", "properties": {
        "id": {"type": "integer"}, "status": {"type": "string", "enum": [
            "invited", "review", "pending", "credited", "reversed", "blocked", "rejected"]},
        "reason": {"type": ["string", "null"], "description": "Why it is blocked, held, rejected or reversed."},
        "flag": {"type": ["string", "null"], "description": "A suspicion found at invitation time."},
        "referrer": {"type": "object", "properties": {"member_id": {"type": "integer"},
                                                      "email": {"type": ["string", "null"]},
                                                      "customer_id": {"type": "string"}}},
        "friend_email": {"type": "string"}, "friend_member_id": {"type": ["integer", "null"]},
        "code": {"type": ["string", "null"]}, "code_status": {"type": "string"},
        "order_id": {"type": ["string", "null"]}, "order_total": {"type": ["string", "null"]},
        "points": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
        "converted_at": {"type": ["string", "null"], "format": "date-time"},
        "credit_at": {"type": ["string", "null"], "format": "date-time"},
        "credited_at": {"type": ["string", "null"], "format": "date-time"}}},
    "Event": {"type": "object", "properties": {
        "id": {"type": "integer"}, "topic": {"type": "string"}, "status": {"type": "string"},
        "error": {"type": ["string", "null"]}, "attempts": {"type": "integer"}}},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "loyalty-bridge", "version": "1", "description": "Points, rewards and members of one shop."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
    "paths": {
        "/members": {"get": {"summary": "Find members by email or store customer id", "parameters": [
            {"name": "email", "in": "query", "schema": {"type": "string"}},
            {"name": "customer_id", "in": "query", "schema": {"type": "string"}}],
            "responses": _ok({"type": "object", "properties": {"members": {"type": "array", "items": _ref("Member")}}})}},
        "/members/{member_id}": {"get": {"summary": "A member's points, tier, membership and next reward",
                                         "parameters": [MEMBER_ID], "responses": _ok(_ref("Member"))}},
        "/members/{member_id}/ledger": {"get": {"summary": "A member's ledger, newest first", "parameters": [
            MEMBER_ID, {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
            {"name": "before_id", "in": "query", "schema": {"type": "integer"}}],
            "responses": _ok({"type": "object", "properties": {"entries": {"type": "array", "items": _ref("LedgerEntry")}}})}},
        "/members/{member_id}/redemptions": {"post": {
            "summary": "Redeem a reward: points are debited and a single-use code is written to the store",
            "parameters": [MEMBER_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reward_id"], "properties": {"reward_id": {"type": "string"}}}}}},
            "responses": _ok(_ref("Redemption"), "The redemption (with its code once written)", "201")}},
        "/members/{member_id}/adjustments": {"post": {
            "summary": "Add or remove points by hand, with a reason", "parameters": [MEMBER_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["points", "reason"], "properties": {
                    "points": {"type": "integer"}, "reason": {"type": "string", "minLength": 1}}}}}},
            "responses": _ok({"type": "object"}, "The entry", "201")}},
        "/program": {
            "get": {"summary": "The current program", "responses": _ok(_ref("Program"))},
            "put": {"summary": "Save a new program version (every problem is listed at once)",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Program")}}},
                    "responses": _ok(_ref("Program"))}},
        "/rewards": {"get": {"summary": "The rewards catalog", "responses": _ok(
            {"type": "object", "properties": {"rewards": {"type": "array", "items": _ref("Reward")}}})}},
        "/events": {"get": {"summary": "Stored webhook events", "parameters": [
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "done", "failed"]}}],
            "responses": _ok({"type": "object", "properties": {"events": {"type": "array", "items": _ref("Event")}}})}},
        "/events/{event_id}/replay": {"post": {"summary": "Queue a stored event again", "parameters": [
            {"name": "event_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": _ok({"type": "object"}, "Queued", "202")}},
        "/stats": {"get": {"summary": "Points issued, redeemed, expired, outstanding; members per tier",
                           "responses": _ok({"type": "object"})}},
        "/referrals": {"get": {"summary": "Referrals, newest first, with the program's results (sent, converted, revenue, cost, ROI)",
                               "parameters": [
                                   {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                                       "invited", "review", "pending", "credited", "reversed", "blocked", "rejected"]}},
                                   {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
                                   {"name": "before_id", "in": "query", "schema": {"type": "integer"}}],
                               "responses": _ok({"type": "object", "properties": {
                                   "referrals": {"type": "array", "items": _ref("Referral")},
                                   "summary": {"type": "object"}}})}},
        "/referrals/{referral_id}/approve": {"post": {
            "summary": "Approve a referral held for review: the reward follows after the pending period",
            "parameters": [REFERRAL_ID], "responses": _ok(_ref("Referral"))}},
        "/referrals/{referral_id}/reject": {"post": {
            "summary": "Reject a referral (held for review, or not yet rewarded) with an optional reason",
            "parameters": [REFERRAL_ID],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"reason": {"type": "string"}}}}}},
            "responses": _ok(_ref("Referral"))}},
        "/notices": {"get": {"summary": "What the merchant must be told (e.g. webhooks the store had disabled and we re-created), newest first",
                             "parameters": [{"name": "unread", "in": "query", "schema": {"type": "boolean"}}],
                             "responses": _ok({"type": "object", "properties": {
                                 "notices": {"type": "array", "items": _ref("Notice")}}})}},
        "/notices/{notice_id}/read": {"post": {"summary": "Mark a notice as read", "parameters": [
            {"name": "notice_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": _ok({"type": "object"})}},
    },
}
