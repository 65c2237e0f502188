"""The merchant's referral page: results and ROI from the shop's figures, the leaderboard, the
review list (approve / reject), one click to pause (a new program version), and the settings form
keeping the referral settings."""
from __future__ import annotations

import re

from tests.fakes import order_body
from tests.integration.admin_helpers import csrf, signed_in
from tests.integration.referral_helpers import ask_code, link_of, member_id, referral_rows, set_referrals


def test_referral_page_shows_results_roi_leaderboard_and_the_review_list(service):  # type: ignore[no-untyped-def]
    # given two members (one refers two friends; one friend orders, one waits for review)
    set_referrals(service.runtime, service.shop_id, review_same_ip=False, max_friends_per_ip=0,
                  disposable_domains=("junk.example",))
    service.deliver("order/paid", order_body("o1", "c1", "100.00", email="ann@example.com"))
    service.deliver("order/paid", order_body("o2", "c2", "40.00", email="carl@example.com"))
    service.work()
    link = link_of(service.runtime, service.shop_id, member_id(service.runtime, service.shop_id, "c1"))
    _, code = ask_code(service.session, service.base_url, link, "bob@example.com")
    _, held = ask_code(service.session, service.base_url, link, "dan@junk.example")
    service.deliver("order/paid", order_body("f1", "f1", "60.00", email="bob@example.com", codes=[code]))
    service.deliver("order/paid", order_body("f2", "f2", "60.00", email="dan@junk.example", codes=[held]))
    service.work()
    session = signed_in(service)
    # when the merchant opens the page
    page = session.get(f"{service.base_url}/admin/referrals", timeout=10).text
    # then: 2 invited, 2 converted, revenue 120, cost = 500 points at $5/200 + $10 + $10 = 32.50;
    # LTV = 260 / 4 members = 65, k = (2/4) × (2/2) = 0.5, reward = 32.50 per rewarded referral
    assert re.search(r'id="sent">2<', page) and re.search(r'id="converted">2<', page)
    assert 'id="revenue">120.00 USD<' in page and 'id="cost">32.50 USD<' in page
    assert 'id="roi">2.00×<' in page  # (65 × 1.5 − 32.5) / 32.5
    assert "disposable email domain junk.example" in page.split('id="leaderboard"')[0]
    assert re.search(r"ann@example.com</a></td><td>2</td><td>2</td><td>500</td>", page)
    # when the merchant approves the held one on the page
    held_id = referral_rows(service.runtime)[1].id
    token = csrf(session, f"{service.base_url}/admin/referrals")
    answer = session.post(f"{service.base_url}/admin/referrals/{held_id}/approve", data={"csrf_token": token}, timeout=10)
    assert answer.status_code == 200 and f"Referral {held_id} approved." in answer.text
    assert referral_rows(service.runtime)[1].status == "credited"
    # and a POST without the CSRF token is refused
    assert session.post(f"{service.base_url}/admin/referrals/{held_id}/reject", timeout=10).status_code == 403


def test_reject_on_the_page_keeps_the_reason(service):  # type: ignore[no-untyped-def]
    service.deliver("order/paid", order_body("o1", "c1", "10.00", email="ann@example.com"))
    service.work()
    link = link_of(service.runtime, service.shop_id, member_id(service.runtime, service.shop_id, "c1"))
    ask_code(service.session, service.base_url, link, "bob@example.com")
    session = signed_in(service)
    token = csrf(session, f"{service.base_url}/admin/referrals")
    row = referral_rows(service.runtime)[0]
    session.post(f"{service.base_url}/admin/referrals/{row.id}/reject", data={"csrf_token": token, "reason": "staff"},
                 timeout=10)
    assert (referral_rows(service.runtime)[0].status, referral_rows(service.runtime)[0].reason) == (
        "rejected", "rejected by the merchant: staff")
    assert session.post(f"{service.base_url}/admin/referrals/999/approve", data={"csrf_token": token},
                        timeout=10).status_code == 404


def test_one_click_pause_saves_a_new_program_version_and_the_settings_form_keeps_it(service):  # type: ignore[no-untyped-def]
    session = signed_in(service)
    token = csrf(session, f"{service.base_url}/admin/referrals")
    # when the merchant pauses the program
    paused = session.post(f"{service.base_url}/admin/referrals/pause", data={"csrf_token": token}, timeout=10)
    # then a new version is saved with referrals off
    assert paused.status_code == 200 and 'id="program-state">paused<' in paused.text
    program = service.api("GET", "/program").json()
    assert (program["version"], program["referrals"]["enabled"]) == (2, False)
    # and saving the settings page unchanged keeps it paused and the other referral settings
    set_referrals(service.runtime, service.shop_id, referrer_points=250)
    html = session.get(f"{service.base_url}/admin/settings", timeout=10).text
    form = {"csrf_token": token}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) != "csrf_token" and ('type="checkbox"' not in tag or " checked" in tag):
            form.setdefault(name.group(1), "on" if 'type="checkbox"' in tag else (value.group(1) if value else ""))
    for select in re.finditer(r'<select name="([^"]+)">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]+)" selected', select.group(2))
        if chosen:
            form[select.group(1)] = chosen.group(1)
    saved = session.post(f"{service.base_url}/admin/settings", data=form, timeout=10)
    assert saved.status_code == 200 and "Saved as version 4" in saved.text
    referrals = service.api("GET", "/program").json()["referrals"]
    assert (referrals["enabled"], referrals["referrer_points"], referrals["review_same_ip"]) == (False, 250, True)
    # and resuming is one click too
    resumed = session.post(f"{service.base_url}/admin/referrals/resume", data={"csrf_token": token}, timeout=10)
    assert 'id="program-state">running<' in resumed.text
    assert service.api("GET", "/program").json()["referrals"]["enabled"] is True
