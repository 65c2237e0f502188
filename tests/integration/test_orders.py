"""Paid orders, refunds and cancellations through the webhook endpoint, the worker and the API."""
from __future__ import annotations

from sqlalchemy import func, select

from integration.db.tables import inbox, ledger_entries, members
from tests.fakes import order_body, refund_body


def member_of(service, customer_id: str) -> dict:  # type: ignore[no-untyped-def]
    found = service.api("GET", f"/members?customer_id={customer_id}").json()["members"]
    assert len(found) == 1
    return found[0]


def ledger_total(service) -> int:  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return conn.execute(select(func.coalesce(func.sum(ledger_entries.c.points), 0))).scalar_one()


def test_paid_order_earns_points_and_signup_bonus(service):  # type: ignore[no-untyped-def]
    # given a first order of $123.45 from a new customer
    response = service.deliver("order/paid", order_body("1001", "c1", "123.45", email="Ann@Example.com"))
    # when the worker runs
    assert response.status_code == 200
    service.work()
    # then: 50 signup + floor(123.45) points, email lower-cased
    member = member_of(service, "c1")
    assert member["points"] == 50 + 123
    assert member["email"] == "ann@example.com"
    assert member["lifetime_points"] == 173
    assert member["next_reward"]["reward_id"] == "r200"
    assert member["points_needed"] == 200 - 173


def test_retried_delivery_and_second_delivery_credit_once(service):  # type: ignore[no-untyped-def]
    body = order_body("1002", "c2", "80.00")
    # given the same delivery three times and the same order under a new delivery id
    answers = [service.deliver("order/paid", body, "delivery-1").json()["status"] for _ in range(3)]
    service.deliver("order/paid", body, "delivery-2")
    service.work()
    # then one inbox row per delivery id and one credit
    assert answers == ["stored", "duplicate", "duplicate"]
    assert member_of(service, "c2")["points"] == 50 + 80
    with service.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 2


def test_bad_signature_is_rejected_and_nothing_is_stored(service):  # type: ignore[no-untyped-def]
    body = order_body("1003", "c3", "10.00")
    response = service.deliver("order/paid", body, secret="wrong")
    tampered = service.deliver("order/paid", body[:-2] + b" }")
    assert (response.status_code, tampered.status_code) == (401, 200)
    with service.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 1


def test_unknown_shop_gets_401_and_nothing_is_stored(service):  # type: ignore[no-untyped-def]
    response = service.deliver("order/paid", order_body("1", "c", "1.00"), shop_id=9999)
    assert response.status_code == 401
    with service.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 0


def test_unparseable_signed_payload_is_kept_failed_and_replayable(service):  # type: ignore[no-untyped-def]
    # given a signed body that is not JSON
    response = service.deliver("order/paid", b"{not json", "bad-1")
    service.work()
    # then it is stored, failed, listed with its error
    assert response.status_code == 200
    failed = service.api("GET", "/events?status=failed").json()["events"]
    assert [e["delivery_id"] for e in failed] == ["bad-1"]
    assert "unparseable payload" in failed[0]["error"]
    # and a replay queues it again (it fails again: the body is still bad; nothing crashes)
    assert service.api("POST", f"/events/{failed[0]['id']}/replay").status_code == 202
    assert service.api("GET", "/events?status=pending").json()["events"][0]["id"] == failed[0]["id"]
    service.work()
    assert len(service.api("GET", "/events?status=failed").json()["events"]) == 1


def test_partial_refunds_then_full_refund_take_back_exactly_what_was_earned(service):  # type: ignore[no-untyped-def]
    service.deliver("order/paid", order_body("2001", "c4", "99.99"))
    service.work()
    earned = 99
    # when refunded in three parts: 33.33, 33.33 and 33.33
    for index in range(3):
        service.deliver("order/refunded", refund_body("2001", f"r{index}", "33.33"))
    service.deliver("order/refunded", refund_body("2001", "r0", "33.33"))  # refund r0 again: no effect
    service.work()
    member = member_of(service, "c4")
    # then: 99 × 33.33/99.99 = 33, ×66.66/99.99 = 66, ×99.99/99.99 = 99 → 33 + 33 + 33 reversed
    assert member["points"] == 50 + earned - 99
    entries = service.api("GET", f"/members/{member['id']}/ledger").json()["entries"]
    assert sorted(e["points"] for e in entries if e["kind"] == "refund") == [-33, -33, -33]
    assert ledger_total(service) == member["points"]


def test_cancellation_after_partial_refund_reverses_the_rest(service):  # type: ignore[no-untyped-def]
    service.deliver("order/paid", order_body("2002", "c5", "50.00"))
    service.work()
    service.deliver("order/refunded", refund_body("2002", "r1", "10.00"))
    service.deliver("order/cancelled", b'{"order_id": "2002", "at": "2026-03-03T00:00:00+00:00"}')
    service.work()
    assert member_of(service, "c5")["points"] == 50


def test_refund_before_its_order_waits_and_then_applies(service, clock):  # type: ignore[no-untyped-def]
    from datetime import timedelta
    # given a refund that arrives before its order
    service.deliver("order/refunded", refund_body("2003", "r1", "20.00"))
    service.work()
    assert service.api("GET", "/events?status=pending").json()["events"][0]["attempts"] == 1
    # when the order arrives and the retry comes due
    service.deliver("order/paid", order_body("2003", "c6", "40.00"))
    service.work()
    clock.now += timedelta(minutes=5)
    service.work()
    # then the refund took back half
    assert member_of(service, "c6")["points"] == 50 + 40 - 20


def test_balance_may_go_negative_when_spent_points_are_refunded(service):  # type: ignore[no-untyped-def]
    service.deliver("order/paid", order_body("3001", "c7", "300.00"))
    service.work()
    member = member_of(service, "c7")
    assert service.api("POST", f"/members/{member['id']}/redemptions", json={"reward_id": "r200"}).status_code == 201
    service.deliver("order/refunded", refund_body("3001", "r1", "300.00"))
    service.work()
    assert member_of(service, "c7")["points"] == 350 - 200 - 300
    with service.runtime.db.read() as conn:
        assert conn.execute(select(members.c.balance)).scalar_one() == ledger_total(service)
