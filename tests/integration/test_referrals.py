"""Refer a friend through the real HTTP server, worker and fake platform: the link, the friend's
welcome code, conversion on a paid order, the pending period, refunds, the review list and the
API. Each fraud rule blocks (or holds) its case and leaves a reason."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from integration.ports import StoreWriteError
from scheduler.jobs import referrals as referrals_job
from tests.fakes import order_body, refund_body
from tests.integration.referral_helpers import (
    ask_code,
    link_of,
    member_id,
    referral_entries,
    referral_rows,
    set_referrals,
)


def referrer(service, customer: str = "c1", email: str = "ann@example.com") -> str:  # type: ignore[no-untyped-def]
    """A member enrolled by a paid order; their referral link code."""
    service.deliver("order/paid", order_body(f"o-{customer}", customer, "40.00", email=email))
    service.work()
    return link_of(service.runtime, service.shop_id, member_id(service.runtime, service.shop_id, customer))


def friend_orders(service, code: str, *, order: str = "f1", customer: str = "f-c1", email: str = "bob@example.com",  # type: ignore[no-untyped-def]
                  amount: str = "60.00") -> None:
    service.deliver("order/paid", order_body(order, customer, amount, email=email, codes=[code.lower()]))
    service.work()


def codes_written(service) -> list:  # type: ignore[no-untyped-def]
    return [call for name, call in service.platform.calls if name == "create_discount_code"]


def test_friend_gets_a_single_use_new_customer_code_restricted_to_their_email(service):  # type: ignore[no-untyped-def]
    # given a member's link
    link = referrer(service)
    # when a friend asks for their welcome code
    status, code = ask_code(service.session, service.base_url, link, "Bob@Example.com")
    # then it is written to the store at once, for new customers only, for the friend's email
    assert status == 200 and code.startswith("FRIEND-")
    (written,) = codes_written(service)
    assert (written.code, written.kind, written.value, written.customer_id, written.customer_email,
            written.new_customers_only) == (code, "amount_off", Decimal("10"), "", "bob@example.com", True)
    assert written.ends_at - written.starts_at == timedelta(days=30)
    (row,) = referral_rows(service.runtime)
    assert (row.status, row.friend_email, row.friend_key, row.code, row.code_status) == (
        "invited", "bob@example.com", "bob@example.com", code, "issued")
    # and asking again shows the same code, writing nothing new
    assert ask_code(service.session, service.base_url, link, "bob@example.com") == (200, code)
    assert len(codes_written(service)) == 1


def test_paid_friend_order_credits_the_referrer_once_after_the_pending_period(service):  # type: ignore[no-untyped-def]
    set_referrals(service.runtime, service.shop_id, pending_days=14, referrer_points=500)
    link = referrer(service)
    _, code = ask_code(service.session, service.base_url, link, "bob@example.com")
    # when the friend's order with the code (as WooCommerce lower-cases it) is paid, twice delivered
    friend_orders(service, code)
    friend_orders(service, code)
    # then the friend is a member and the referral waits out the pending period
    (row,) = referral_rows(service.runtime)
    assert (row.status, row.order_id, row.points) == ("pending", "f1", 500)
    assert referral_entries(service.runtime) == []
    assert referrals_job(service.runtime, service.shop_id, service.runtime.clock() + timedelta(days=13)).changed == 0
    # when the period is over
    done = referrals_job(service.runtime, service.shop_id, service.runtime.clock() + timedelta(days=14))
    again = referrals_job(service.runtime, service.shop_id, service.runtime.clock() + timedelta(days=15))
    # then the referrer is credited once
    assert (done.changed, again.changed) == (1, 0)
    assert referral_entries(service.runtime) == [(f"referral:{row.id}", 500)]
    assert referral_rows(service.runtime)[0].status == "credited"


def test_friend_order_refunded_in_the_pending_period_earns_nothing(service):  # type: ignore[no-untyped-def]
    set_referrals(service.runtime, service.shop_id, pending_days=14)
    _, code = ask_code(service.session, service.base_url, referrer(service), "bob@example.com")
    friend_orders(service, code)
    # when the friend returns the whole order before the period ends
    service.deliver("order/refunded", refund_body("f1", "r1", "60.00"))
    service.work()
    referrals_job(service.runtime, service.shop_id, service.runtime.clock() + timedelta(days=30))
    # then nothing was ever credited, and the referral says why
    (row,) = referral_rows(service.runtime)
    assert row.status == "reversed"
    assert row.reason == "the friend's order was returned before the reward was credited: nothing credited"
    assert referral_entries(service.runtime) == []


def test_refund_after_the_reward_takes_it_back_and_a_partial_one_does_not(service):  # type: ignore[no-untyped-def]
    _, code = ask_code(service.session, service.base_url, referrer(service), "bob@example.com")
    friend_orders(service, code)  # no pending period: credited at once
    (row,) = referral_rows(service.runtime)
    assert referral_entries(service.runtime) == [(f"referral:{row.id}", 500)]
    # a partial refund leaves the order above the (zero) minimum: the reward stays
    service.deliver("order/refunded", refund_body("f1", "r1", "20.00"))
    service.work()
    assert referral_rows(service.runtime)[0].status == "credited"
    # the rest of the order refunded: the reward is reversed, once
    service.deliver("order/refunded", refund_body("f1", "r2", "40.00"))
    service.deliver("order/cancelled", json.dumps({"order_id": "f1", "at": "2026-03-03T12:00:00+00:00"}).encode())
    service.work()
    assert referral_entries(service.runtime) == [(f"referral:{row.id}", 500), (f"referral:{row.id}:reverse", -500)]
    assert referral_rows(service.runtime)[0].reason == "the friend's order was returned: the reward was taken back"


def test_self_referral_by_an_email_variant_is_blocked_with_a_reason_and_no_code(service):  # type: ignore[no-untyped-def]
    link = referrer(service, email="ann.smith@gmail.com")
    status, error = ask_code(service.session, service.base_url, link, "AnnSmith+deal@googlemail.com")
    assert (status, error) == (403, "This email cannot get a welcome gift from this link.")
    (row,) = referral_rows(service.runtime)
    assert (row.status, row.reason, row.code) == ("blocked", "self-referral: the same mailbox (email address variant)", None)
    assert codes_written(service) == []


def test_self_referral_by_the_same_customer_at_checkout_is_blocked(service):  # type: ignore[no-untyped-def]
    # the referrer asks for a code under another address, then uses it on their own account
    _, code = ask_code(service.session, service.base_url, referrer(service), "other@example.com")
    friend_orders(service, code, customer="c1", email="ann@example.com")
    (row,) = referral_rows(service.runtime)
    assert (row.status, row.reason, row.points) == ("blocked", "self-referral: the same customer", 0)
    assert referral_entries(service.runtime) == []


def test_self_referral_to_the_referrers_own_shipping_address_is_blocked(service):  # type: ignore[no-untyped-def]
    # given a referrer whose order went to 12 Main Street, and a "friend" under a new name and email
    service.deliver("order/paid", order_body("o-c1", "c1", "40.00", email="ann@example.com",
                                             address="12 Main Street, Apt. 4, 75001, Paris, FR"))
    service.work()
    link = link_of(service.runtime, service.shop_id, member_id(service.runtime, service.shop_id, "c1"))
    _, code = ask_code(service.session, service.base_url, link, "someone.else@example.com")
    # when the friend's order ships to the same place, written differently
    service.deliver("order/paid", order_body("f1", "f-c1", "60.00", email="someone.else@example.com",
                                             codes=[code.lower()], address="12 main st apt 4 75001 PARIS FR"))
    service.work()
    # then the referral is blocked with its reason and nothing is credited
    (row,) = referral_rows(service.runtime)
    assert (row.status, row.reason, row.points) == ("blocked", "self-referral: the same address", 0)
    assert referral_entries(service.runtime) == []


def test_existing_customer_cannot_be_referred(service):  # type: ignore[no-untyped-def]
    link = referrer(service)
    referrer(service, customer="c2", email="carl@example.com")
    assert ask_code(service.session, service.base_url, link, "carl@example.com") == (
        403, "This email cannot get a welcome gift from this link.")
    assert referral_rows(service.runtime)[0].reason == "the friend is already a customer"


def test_a_friend_who_ordered_before_is_not_new_and_earns_the_referrer_nothing(service):  # type: ignore[no-untyped-def]
    _, code = ask_code(service.session, service.base_url, referrer(service), "bob@example.com")
    service.deliver("order/paid", order_body("early", "f-c1", "15.00", email="bob2@example.com"))
    friend_orders(service, code)
    assert (referral_rows(service.runtime)[0].status, referral_rows(service.runtime)[0].reason) == (
        "blocked", "the friend is not a new customer")


def test_order_below_the_minimum_is_blocked(service):  # type: ignore[no-untyped-def]
    set_referrals(service.runtime, service.shop_id, minimum_order=Decimal("75"))
    _, code = ask_code(service.session, service.base_url, referrer(service), "bob@example.com")
    friend_orders(service, code, amount="60.00")
    assert referral_rows(service.runtime)[0].reason == "order below the minimum of 75"
    assert referral_entries(service.runtime) == []


def test_monthly_cap_per_referrer(service):  # type: ignore[no-untyped-def]
    set_referrals(service.runtime, service.shop_id, monthly_cap=1, max_friends_per_ip=0)
    link = referrer(service)
    _, first = ask_code(service.session, service.base_url, link, "bob@example.com")
    _, second = ask_code(service.session, service.base_url, link, "dan@example.com")
    friend_orders(service, first)
    friend_orders(service, second, order="f2", customer="f-c2", email="dan@example.com")
    rows = referral_rows(service.runtime)
    assert [(r.status, r.reason) for r in rows] == [
        ("credited", None), ("blocked", "the referrer reached the cap of 1 rewards this month")]
    assert len(referral_entries(service.runtime)) == 1


def test_friend_from_the_referrers_own_address_waits_for_review_then_approval_credits(service):  # type: ignore[no-untyped-def]
    link = referrer(service)
    # the referrer opened their portal from this address (the test client's loopback)
    from tests.integration.portal_helpers import portal_link
    assert service.session.get(portal_link(service, member_id(service.runtime, service.shop_id, "c1"))).status_code == 200
    _, code = ask_code(service.session, service.base_url, link, "bob@example.com")
    friend_orders(service, code)
    (row,) = referral_rows(service.runtime)
    assert (row.status, row.reason) == ("review", "same network address as the referrer's own visits")
    listed = service.api("GET", "/referrals?status=review").json()["referrals"]
    assert [(r["id"], r["reason"]) for r in listed] == [(row.id, row.reason)]
    # when the merchant approves it through the API
    answer = service.api("POST", f"/referrals/{row.id}/approve")
    # then the reward is credited (no pending period), and a second approval is refused
    assert (answer.status_code, answer.json()["status"]) == (200, "credited")
    assert referral_entries(service.runtime) == [(f"referral:{row.id}", 500)]
    assert service.api("POST", f"/referrals/{row.id}/approve").status_code == 409


def test_many_friends_from_one_address_and_disposable_domains_wait_for_review_and_can_be_rejected(service):  # type: ignore[no-untyped-def]
    set_referrals(service.runtime, service.shop_id, max_friends_per_ip=1, review_same_ip=False)
    link = referrer(service)
    ask_code(service.session, service.base_url, link, "bob@example.com")
    ask_code(service.session, service.base_url, link, "dan@example.com")
    ask_code(service.session, service.base_url, link, "eve@mailinator.com")
    rows = referral_rows(service.runtime)
    assert [r.flag for r in rows] == [None, "2 friends invited from one network address in 30 days",
                                      "3 friends invited from one network address in 30 days"]
    set_referrals(service.runtime, service.shop_id, max_friends_per_ip=0, review_same_ip=False)
    ask_code(service.session, service.base_url, link, "fay@yopmail.com")
    assert referral_rows(service.runtime)[3].flag == "disposable email domain yopmail.com"
    friend_orders(service, rows[1].code, order="f2", customer="f-c2", email="dan@example.com")
    answer = service.api("POST", f"/referrals/{rows[1].id}/reject", json={"reason": "same household"})
    assert (answer.status_code, answer.json()["status"], answer.json()["reason"]) == (
        200, "rejected", "rejected by the merchant: same household")
    assert referral_entries(service.runtime) == []


def test_paused_program_gives_no_codes_and_the_landing_page_says_so(service):  # type: ignore[no-untyped-def]
    link = referrer(service)
    set_referrals(service.runtime, service.shop_id, enabled=False)
    page = service.session.get(f"{service.base_url}/r/{link}")
    assert page.status_code == 410 and "The referral program is paused." in page.text
    assert service.session.post(f"{service.base_url}/r/{link}", data={"email": "bob@example.com"}).status_code == 410
    assert referral_rows(service.runtime) == [] and codes_written(service) == []


def test_unknown_link_bad_email_and_a_friend_taken_by_another_referrer(service):  # type: ignore[no-untyped-def]
    link = referrer(service)
    other = referrer(service, customer="c2", email="carl@example.com")
    assert service.session.get(f"{service.base_url}/r/nosuchcode").status_code == 404
    assert ask_code(service.session, service.base_url, link, "not-an-email") == (422, "Please enter a valid email address.")
    ask_code(service.session, service.base_url, link, "bob@example.com")
    assert ask_code(service.session, service.base_url, other, "b.o.b+x@example.com")[0] == 200  # dots count outside Gmail
    assert ask_code(service.session, service.base_url, other, "bob+x@example.com") == (
        409, "This email address has already been invited.")


def test_a_store_that_refuses_the_code_marks_it_failed_and_the_friend_is_told(service):  # type: ignore[no-untyped-def]
    service.platform.failures.append(StoreWriteError("bad code", retryable=False))
    status, page = ask_code(service.session, service.base_url, referrer(service), "bob@example.com")
    assert status == 200 and "We could not create your code. Please try again later." in page
    assert (referral_rows(service.runtime)[0].code_status, referral_rows(service.runtime)[0].code_error) == ("failed", "bad code")


def test_portal_and_emails_carry_the_members_referral_link(service):  # type: ignore[no-untyped-def]
    from integration.mail import render
    from tests.integration.portal_helpers import portal_link
    link = referrer(service)
    member = member_id(service.runtime, service.shop_id, "c1")
    page = service.session.get(portal_link(service, member)).text
    url = f"{service.runtime.settings.server.base_url}/r/{link}"
    assert f'value="{url}"' in page
    with service.runtime.db.read() as conn:
        email = render(conn, service.runtime.settings, "welcome", service.shop_id, member, {"points": 50},
                       service.runtime.clock())
    assert url in email.text and "you earn 500 points when they order" in email.text


def test_redacting_the_friend_erases_their_email_from_the_referral(service):  # type: ignore[no-untyped-def]
    from integration.dispatch import redact_customer
    _, code = ask_code(service.session, service.base_url, referrer(service), "bob@example.com")
    friend_orders(service, code)
    with service.runtime.db.write() as conn:
        redact_customer(conn, service.shop_id, "f-c1")
    (row,) = referral_rows(service.runtime)
    assert (row.friend_email, row.friend_key, row.status) == ("", f"redacted:{row.id}", "credited")
