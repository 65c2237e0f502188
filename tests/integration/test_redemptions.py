"""Redeeming, adjusting and the program, through the JSON API; store writes through the outbox."""
from __future__ import annotations

from datetime import timedelta

from integration.ports import StoreWriteError
from tests.fakes import order_body


def enrolled(service, customer_id: str, amount: str) -> int:  # type: ignore[no-untyped-def]
    service.deliver("order/paid", order_body(f"o-{customer_id}", customer_id, amount, email=f"{customer_id}@x.test"))
    service.work()
    return service.api("GET", f"/members?customer_id={customer_id}").json()["members"][0]["id"]


def test_redemption_debits_points_and_writes_a_single_use_code(service, clock):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c1", "250.00")  # 50 + 250 = 300 points
    # when
    response = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"},
                           headers={"Idempotency-Key": "k1"})
    # then the code was written to the store and is returned
    redemption = response.json()
    assert response.status_code == 201
    assert redemption["status"] == "issued" and redemption["points"] == 200
    name, code = service.platform.calls[-1]
    assert name == "create_discount_code"
    assert (code.code, code.kind, code.value, code.customer_id) == (redemption["code"], "amount_off", 5, "c1")
    assert code.customer_email == "c1@x.test"
    assert code.ends_at - code.starts_at == timedelta(days=30)
    assert redemption["url"] == f"https://shop-a.example/discount/{code.code}"
    assert service.api("GET", f"/members/{member_id}").json()["points"] == 100


def test_retried_redemption_with_the_same_key_spends_once(service):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c2", "450.00")  # 500 points
    first = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"},
                        headers={"Idempotency-Key": "same"}).json()
    again = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"},
                        headers={"Idempotency-Key": "same"}).json()
    assert again == first
    assert service.api("GET", f"/members/{member_id}").json()["points"] == 300
    assert [c[0] for c in service.platform.calls] == ["create_discount_code"]


def test_insufficient_points_is_a_409_and_changes_nothing(service):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c3", "100.00")  # 150 points
    response = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"})
    assert response.status_code == 409
    assert response.json()["error"] == "this reward needs 200 points; 150 are spendable"
    assert service.api("GET", f"/members/{member_id}/ledger").json()["entries"][0]["kind"] == "earn"
    assert service.platform.calls == []


def test_unknown_reward_and_bad_body_are_clear_errors(service):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c4", "10.00")
    unknown = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "nope"})
    bad = service.api("POST", f"/members/{member_id}/redemptions", data="[]",
                      headers={"Content-Type": "application/json"})
    assert (unknown.status_code, bad.status_code) == (422, 400)
    assert "nope" in unknown.json()["error"]


def test_store_write_retried_with_backoff_then_issued(service, clock):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c5", "200.00")
    service.platform.failures = [StoreWriteError("throttled", retryable=True, retry_after=42)]
    # when the first attempt is throttled
    pending = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"}).json()
    assert pending["status"] == "pending"
    # then nothing happens before the announced wait, and the code is issued after it
    clock.now += timedelta(seconds=41)
    service.work()
    assert len(service.platform.calls) == 1
    clock.now += timedelta(seconds=2)
    service.work()
    assert len(service.platform.calls) == 2
    with service.runtime.db.read() as conn:
        from sqlalchemy import select

        from integration.db.tables import redemptions
        assert conn.execute(select(redemptions.c.status)).scalar_one() == "issued"


def test_write_that_can_never_succeed_gives_the_points_back(service):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c6", "200.00")  # 250
    service.platform.failures = [StoreWriteError("invalid customer", retryable=False)]
    response = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"})
    assert response.status_code == 502
    assert response.json()["status"] == "failed"
    member = service.api("GET", f"/members/{member_id}").json()
    assert member["points"] == 250
    kinds = [e["kind"] for e in service.api("GET", f"/members/{member_id}/ledger").json()["entries"]]
    assert kinds[:2] == ["restore", "redeem"]


def test_manual_adjustment_needs_a_reason_and_is_idempotent(service):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c7", "10.00")  # 60
    missing = service.api("POST", f"/members/{member_id}/adjustments", json={"points": 5})
    first = service.api("POST", f"/members/{member_id}/adjustments", json={"points": 25, "reason": "sorry"},
                        headers={"Idempotency-Key": "a1"})
    again = service.api("POST", f"/members/{member_id}/adjustments", json={"points": 25, "reason": "sorry"},
                        headers={"Idempotency-Key": "a1"})
    assert missing.status_code == 422 and missing.json()["error"] == "a reason is required"
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["balance"] == 85


def test_a_key_for_one_shop_sees_nothing_of_another(service):  # type: ignore[no-untyped-def]
    member_id = enrolled(service, "c8", "10.00")
    _, other_key = service.add_shop("shop-b.example")
    assert service.api("GET", f"/members/{member_id}", key=other_key).status_code == 404
    assert service.api("GET", "/members?customer_id=c8", key=other_key).json() == {"members": []}
    assert service.api("POST", f"/members/{member_id}/adjustments", key=other_key,
                       json={"points": 5, "reason": "x"}).status_code == 404
    assert service.api("GET", "/members/1", key="lb_forged").status_code == 401
    assert service.api("GET", "/stats", key=other_key).json()["members"] == 0


def test_program_update_lists_every_problem_and_saves_nothing(service):  # type: ignore[no-untyped-def]
    program = service.api("GET", "/program").json()
    bad = dict(program, points_per_unit="-1", signup_bonus=-5)
    response = service.api("PUT", "/program", json=bad)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert {"points_per_unit", "signup_bonus"} <= fields
    assert service.api("GET", "/program").json()["version"] == program["version"]


def test_program_update_applies_to_new_orders_and_refunds_use_the_earning_version(service):  # type: ignore[no-untyped-def]
    from tests.fakes import refund_body
    service.deliver("order/paid", order_body("p1", "c9", "100.00"))
    service.work()
    program = service.api("GET", "/program").json()
    saved = service.api("PUT", "/program", json=dict(program, points_per_unit="3")).json()
    assert saved["version"] == program["version"] + 1
    service.deliver("order/paid", order_body("p2", "c9", "100.00"))
    service.deliver("order/refunded", refund_body("p1", "r1", "100.00"))
    service.work()
    # 50 + 100 (v1) + 300 (v2) - 100 (refund of p1 under v1)
    member = service.api("GET", "/members?customer_id=c9").json()["members"][0]
    assert member["points"] == 350


def test_openapi_document_lists_every_route(service):  # type: ignore[no-untyped-def]
    """Every route of the API blueprint, with each of its methods, is documented (and nothing more)."""
    import re

    from integration.web.bootstrap import create_app
    document = service.session.get(f"{service.base_url}/api/v1/openapi.json").json()
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method.lower())
              for rule in create_app(service.runtime).url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served and documented == served


def test_health_and_readiness(service):  # type: ignore[no-untyped-def]
    assert service.session.get(f"{service.base_url}/healthz").status_code == 200
    assert service.session.get(f"{service.base_url}/readyz").json() == {"status": "ready"}
