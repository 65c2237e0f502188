"""The customer portal over HTTP: signed links, the page, redeeming once, birthdays, claims."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from integration.db.tables import claims, ledger_entries, members, redemptions
from integration.events import Amounts, Customer, OrderPaid
from tests.integration.portal_helpers import (
    form_token,
    member_with_order,
    paid_order,
    portal_link,
    text_of,
)

PAGE_LIMIT_BYTES = 30_000


def test_the_page_shows_balance_progress_rewards_and_history(service):
    # given 50 signup points and 250 earned by order #1001
    member_id = member_with_order(service, "250.00")
    # when
    response = service.session.get(portal_link(service, member_id), timeout=10)
    # then
    text = text_of(response.text)
    assert response.status_code == 200
    assert "Hi Ann, your balance 300 points" in text
    assert "200 points to $15 off" in text  # the next reward (500) is 200 away
    assert text.count("Redeem") == 2  # $5 off (200) and Free shipping (300) are claimable
    assert "Earned · order #1001" in text and "+250" in text and "Welcome gift" in text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert len(response.content) < PAGE_LIMIT_BYTES


def test_redeeming_spends_once_for_a_double_click_and_a_resubmitted_form(service):
    # given
    member_id = member_with_order(service, "250.00")
    link = portal_link(service, member_id)
    token = form_token(service.session.get(link, timeout=10).text)
    form = {"form_token": token, "reward_id": "r200"}
    # when the same form is posted twice
    first = service.session.post(f"{link}/redeem", data=form, timeout=10)
    second = service.session.post(f"{link}/redeem", data=form, timeout=10)
    # then one code, shown both times, and 200 points spent once
    assert first.status_code == 200 and second.status_code == 200
    with service.runtime.db.read() as conn:
        rows = conn.execute(select(redemptions)).fetchall()
        balance = conn.execute(select(members.c.balance).where(members.c.id == member_id)).scalar_one()
    assert len(rows) == 1 and rows[0].status == "issued"
    assert rows[0].code in first.text and rows[0].code in second.text
    assert f"https://shop-a.example/discount/{rows[0].code}" in first.text
    assert balance == 100
    assert "Points left to spend: 100 points" in text_of(second.text)


def test_a_form_of_another_member_or_a_made_up_token_spends_nothing(service):
    # given
    ann = member_with_order(service, "250.00")
    bob = member_with_order(service, "300.00", customer="c2", order="1002", email="bob@example.com")
    bobs_token = form_token(service.session.get(portal_link(service, bob), timeout=10).text)
    # when
    mixed = service.session.post(f"{portal_link(service, ann)}/redeem",
                                 data={"form_token": bobs_token, "reward_id": "r200"}, timeout=10)
    forged = service.session.post(f"{portal_link(service, ann)}/redeem",
                                  data={"form_token": "made-up", "reward_id": "r200"}, timeout=10)
    # then
    assert mixed.status_code == 400 and forged.status_code == 400
    with service.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(redemptions)).scalar_one() == 0


def test_a_tampered_link_is_refused_and_an_old_one_has_expired(service):
    # given
    member_id = member_with_order(service, "250.00")
    link = portal_link(service, member_id)
    # when
    tampered = service.session.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"), timeout=10)
    service.runtime.clock.now += timedelta(days=91)
    expired = service.session.get(link, timeout=10)
    # then neither shows any data
    assert tampered.status_code == 403 and "This link is not valid" in tampered.text
    assert expired.status_code == 410 and "This link has expired" in expired.text
    for response in (tampered, expired):
        assert "300" not in response.text and "Ann" not in response.text


def test_an_expired_link_can_ask_for_a_fresh_one_by_email(service):
    # given
    member_id = member_with_order(service, "250.00")
    link = portal_link(service, member_id)
    service.runtime.clock.now += timedelta(days=91)
    # when
    response = service.session.post(f"{link}/renew", timeout=10)
    # then
    from integration.db.tables import emails
    assert response.status_code == 200
    with service.runtime.db.read() as conn:
        kinds = conn.execute(select(emails.c.kind).where(emails.c.member_id == member_id)).scalars().all()
    assert "portal_link" in kinds


def test_the_api_member_resource_carries_a_working_portal_link(service):
    # given
    member_id = member_with_order(service, "250.00")
    # when
    member = service.api("GET", f"/members/{member_id}").json()
    found = service.api("GET", "/members?email=ann@example.com").json()["members"][0]
    # then
    assert found["portal_url"] == member["portal_url"]
    assert member["portal_url"].startswith("http://127.0.0.1:8000/portal/")
    path = member["portal_url"].removeprefix("http://127.0.0.1:8000")
    assert "300 points" in text_of(service.session.get(service.base_url + path, timeout=10).text)


def test_the_birthday_is_set_once(service):
    # given
    member_id = member_with_order(service, "250.00")
    link = portal_link(service, member_id)
    token = form_token(service.session.get(link, timeout=10).text)
    # when an impossible date, then 29 February, then another date
    impossible = service.session.post(f"{link}/birthday", data={"form_token": token, "day": "31", "month": "4"},
                                      timeout=10)
    first = service.session.post(f"{link}/birthday", data={"form_token": token, "day": "29", "month": "2"}, timeout=10)
    again = service.session.post(f"{link}/birthday", data={"form_token": token, "day": "1", "month": "5"}, timeout=10)
    # then
    assert impossible.status_code == 422
    assert first.status_code == 200 and "We saved your birthday" in first.text and "February 29" in first.text
    assert again.status_code == 409
    with service.runtime.db.read() as conn:
        assert conn.execute(select(members.c.birthday).where(members.c.id == member_id)).scalar_one() == date(2000, 2, 29)


def _store_order(order_id: str, customer_id: str, email: str, amount: str) -> OrderPaid:
    return OrderPaid(order_id=order_id, customer=Customer(customer_id, email=email),
                     paid_at=datetime(2026, 1, 10, tzinfo=timezone.utc), currency="USD",
                     amounts=Amounts(merchandise=Decimal(amount)), order_number=f"#{order_id}", total=Decimal(amount))


def test_claiming_a_past_order_credits_it_once(service):
    # given an order the webhooks never brought, placed before the member joined
    member_id = member_with_order(service, "250.00")
    asked = []

    def find_order(shop, number, email):  # type: ignore[no-untyped-def]
        asked.append((number, email))
        return _store_order("900", "c1", email, "40.00") if number.lstrip("#") == "900" else None
    service.platform.find_order = find_order
    link = portal_link(service, member_id)
    # when claimed twice
    first = service.session.post(f"{link}/claim", data={"order_number": "#900", "email": "ann@example.com"}, timeout=10)
    second = service.session.post(f"{link}/claim", data={"order_number": "900", "email": "ann@example.com"}, timeout=10)
    # then
    assert "Order #900 added: +40 points." in text_of(first.text)
    assert "Order #900 already has its points." in text_of(second.text)
    with service.runtime.db.read() as conn:
        earned = conn.execute(select(ledger_entries.c.points).where(
            ledger_entries.c.source_key == "order:900:earn")).scalars().all()
        balance = conn.execute(select(members.c.balance).where(members.c.id == member_id)).scalar_one()
    assert earned == [40] and balance == 340
    assert asked == [("#900", "ann@example.com"), ("900", "ann@example.com")]


def test_a_claim_for_someone_elses_order_or_an_unknown_one_credits_nothing(service):
    member_id = member_with_order(service, "250.00")
    service.platform.find_order = lambda shop, number, email: (
        _store_order("901", "c9", email, "80.00") if number == "901" else None)
    link = portal_link(service, member_id)
    other = service.session.post(f"{link}/claim", data={"order_number": "901", "email": "eve@example.com"}, timeout=10)
    unknown = service.session.post(f"{link}/claim", data={"order_number": "5", "email": "ann@example.com"}, timeout=10)
    assert other.status_code == 403 and unknown.status_code == 404
    with service.runtime.db.read() as conn:
        assert conn.execute(select(members.c.balance).where(members.c.id == member_id)).scalar_one() == 300
        assert sorted(conn.execute(select(claims.c.outcome)).scalars()) == ["not_found", "refused"]


def test_claims_are_rate_limited(service):
    member_id = member_with_order(service, "250.00")
    service.platform.find_order = lambda shop, number, email: None
    link = portal_link(service, member_id)
    statuses = [service.session.post(f"{link}/claim", data={"order_number": str(n), "email": "ann@example.com"},
                                     timeout=10).status_code for n in range(6)]
    assert statuses == [404] * 5 + [429]
    service.runtime.clock.now += timedelta(hours=1, seconds=1)
    assert service.session.post(f"{link}/claim", data={"order_number": "7", "email": "ann@example.com"},
                                timeout=10).status_code == 404


def test_the_page_speaks_the_members_language_arabic_right_to_left(service):
    french = member_with_order(service, "250.00", locale="fr-CA")
    arabic = member_with_order(service, "100.00", customer="c2", order="1002", email="sam@example.com", locale="ar")
    in_french = service.session.get(portal_link(service, french), timeout=10).text
    in_arabic = service.session.get(portal_link(service, arabic), timeout=10).text
    assert '<html lang="fr" dir="ltr">' in in_french
    assert "Bonjour Ann, votre solde 300 points" in text_of(in_french) and "Récompenses" in in_french
    assert '<html lang="ar" dir="rtl">' in in_arabic
    assert "150 نقطة" in in_arabic and "المكافآت" in in_arabic


def _program_with_tiers_and_a_plan(service) -> None:  # type: ignore[no-untyped-def]
    program = service.api("GET", "/program").json()
    program["tiers"] = [{"name": "Silver", "threshold": "0"}, {"name": "Gold", "threshold": "500"}]
    program["plans"] = [{"plan_id": "vip", "name": "VIP Club", "product_ids": ["p-vip"], "period_months": 12}]
    assert service.api("PUT", "/program", json=program).status_code == 200


def test_the_page_shows_tier_progress_and_membership(service):
    # given a member who bought the VIP plan for $120 (Silver, $380 from Gold)
    _program_with_tiers_and_a_plan(service)
    body = paid_order("1001", "c1", "120.00").replace(b'"lines": []', b'"lines": [{"product_id": "p-vip", "amount": "120"}]')
    service.deliver("order/paid", body)
    service.work()
    with service.runtime.db.read() as conn:
        member_id = conn.execute(select(members.c.id)).scalar_one()
    # when
    text = text_of(service.session.get(portal_link(service, member_id), timeout=10).text)
    # then
    assert "Your tier: Silver" in text and "Spend $380.00 more to reach Gold" in text
    assert "VIP Club Member until Mar 1, 2027" in text


def test_apply_links_for_codes_the_adapter_gave_no_url_for():
    from integration.summary import apply_url
    assert apply_url("shopify", "x.myshopify.com", "LOYAL-AB 12") == "https://x.myshopify.com/discount/LOYAL-AB%2012?redirect=%2F"
    assert apply_url("woocommerce", "https://store.example/", "LOYAL-AB12") == "https://store.example/?coupon=loyal-ab12"
    assert apply_url("fake", "shop-a.example", "X") is None
