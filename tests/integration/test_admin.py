"""The merchant's pages over HTTP: sign-in, CSRF, shop isolation, settings, members, reports."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from integration.db.tables import admin_login_tokens, ledger_entries, redemptions
from tests.integration.admin_helpers import csrf, login_link, place_orders, signed_in


def test_a_login_link_works_once_and_expires(service, clock):  # type: ignore[no-untyped-def]
    link = login_link(service)
    first = requests.get(link, timeout=10, allow_redirects=False)
    assert first.status_code == 303
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie and "Secure" not in cookie
    assert requests.get(link, timeout=10).status_code == 403  # used
    late = login_link(service)
    clock.now += timedelta(minutes=16)
    assert requests.get(late, timeout=10).status_code == 403  # expired
    with service.runtime.db.read() as conn:
        stored = conn.execute(select(admin_login_tokens.c.token_hash)).scalars().all()
    assert all(link.rsplit("/", 1)[1] not in h for h in stored)  # only hashes are kept


def test_pages_need_a_session_and_posts_need_the_csrf_token(service):  # type: ignore[no-untyped-def]
    assert requests.get(f"{service.base_url}/admin/", timeout=10).status_code == 401
    session = signed_in(service)
    place_orders(service, [("1", "c1", "10")])
    response = session.post(f"{service.base_url}/admin/members/1/adjust", data={"points": "5", "reason": "x"},
                            timeout=10)
    assert response.status_code == 403
    with service.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).where(ledger_entries.c.kind == "adjust")).scalar_one() == 0


def test_another_shops_members_and_events_are_not_found(service):  # type: ignore[no-untyped-def]
    other_id, _ = service.add_shop("shop-b.example")
    place_orders(service, [("1", "c1", "10")])
    assert service.deliver("order/paid", b'{"order_id": "9", "customer_id": "z", "amount": "5", "paid_at": '
                           b'"2026-03-01T12:00:00+00:00"}', shop_id=other_id).status_code == 200
    service.work()
    mine = signed_in(service)
    theirs = signed_in(service, other_id)
    token = csrf(theirs, f"{service.base_url}/admin/members")
    assert theirs.get(f"{service.base_url}/admin/members/1", timeout=10).status_code == 404
    assert theirs.post(f"{service.base_url}/admin/members/1/adjust", timeout=10,
                       data={"csrf_token": token, "points": "500", "reason": "steal"}).status_code == 404
    assert "c1" not in theirs.get(f"{service.base_url}/admin/members.csv", timeout=10).text
    assert mine.get(f"{service.base_url}/admin/members/1", timeout=10).status_code == 200


def test_adjustment_needs_a_reason_and_is_applied_once(service):  # type: ignore[no-untyped-def]
    place_orders(service, [("1", "c1", "10")])
    session = signed_in(service)
    url = f"{service.base_url}/admin/members/1"
    token = csrf(session, url)
    refused = session.post(f"{url}/adjust", data={"csrf_token": token, "points": "25", "reason": " ", "key": "k1"},
                           timeout=10)
    assert refused.status_code == 422 and "a reason is required" in refused.text
    for _ in range(2):  # a double submit of the same form
        done = session.post(f"{url}/adjust", timeout=10,
                            data={"csrf_token": token, "points": "25", "reason": "late parcel", "key": "k1"})
        assert done.status_code == 200
    assert service.api("GET", "/members/1").json()["points"] == 50 + 10 + 25


def test_goodwill_code_writes_a_code_and_takes_no_points(service):  # type: ignore[no-untyped-def]
    place_orders(service, [("1", "c1", "10")])
    session = signed_in(service)
    url = f"{service.base_url}/admin/members/1"
    token = csrf(session, url)
    page = session.post(f"{url}/goodwill", timeout=10, data={
        "csrf_token": token, "kind": "amount_off", "value": "10", "validity_days": "14", "reason": "broken mug"})
    assert page.status_code == 200 and "Goodwill: broken mug" in page.text
    code = service.platform.calls[-1][1]
    assert service.platform.calls[-1][0] == "create_discount_code"
    assert (code.kind, str(code.value), code.customer_id, code.code[:6]) == ("amount_off", "10", "c1", "SORRY-")
    assert service.api("GET", "/members/1").json()["points"] == 60
    with service.runtime.db.read() as conn:
        row = conn.execute(select(redemptions)).one()
    assert (row.points, row.status, row.reward_id) == (0, "issued", "goodwill")


def test_member_search_filters_and_csv_export(service):  # type: ignore[no-untyped-def]
    place_orders(service, [("1", "alice", "300"), ("2", "bob", "20"), ("3", "bob", "20"), ("4", "carol", "5")])
    session = signed_in(service)
    found = session.get(f"{service.base_url}/admin/members", params={"q": "BOB@example"}, timeout=10).text
    assert "bob@example.com" in found and "alice@example.com" not in found
    exported = session.get(f"{service.base_url}/admin/members.csv", params={"min_points": "60"}, timeout=10)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert sorted((r["customer_id"], r["balance"]) for r in rows) == [("alice", "350"), ("bob", "90")]


def test_settings_problems_are_shown_next_to_their_fields_and_nothing_is_saved(service):  # type: ignore[no-untyped-def]
    session = signed_in(service)
    token = csrf(session, f"{service.base_url}/admin/settings")
    form = dict(_settings_form(session, service))
    form.update({"csrf_token": token, "points_per_unit": "0", "rewards[0].points_cost": "-5",
                 "tiers[0].name": "Gold", "tiers[0].threshold": ""})
    page = session.post(f"{service.base_url}/admin/settings", data=form, timeout=10)
    assert page.status_code == 422
    assert 'data-for="points_per_unit">must be more than 0 and at most 1000' in page.text
    assert 'data-for="rewards[0].points_cost">must be more than 0' in page.text
    assert 'data-for="tiers[0].threshold">required' in page.text
    assert service.api("GET", "/program").json()["version"] == 1


def _settings_form(session, service):  # type: ignore[no-untyped-def]
    """The settings form's current values, as a browser would submit them (checked boxes only)."""
    import re
    html = session.get(f"{service.base_url}/admin/settings", timeout=10).text
    fields = []
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag and not name.group(1).endswith("_remove"):
                fields.append((name.group(1), "on"))
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields.append((name.group(1), value.group(1) if value else ""))
    for name, body in re.findall(r'<select name="([^"]+)">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]+)" selected', body) or re.search(r'<option value="([^"]+)"', body)
        fields.append((name, chosen.group(1)))
    return [(k, v.replace("&amp;", "&").replace("&#39;", "'").replace("&#34;", '"')) for k, v in fields]


def test_save_preview_versions_and_campaign_stop(service):  # type: ignore[no-untyped-def]
    place_orders(service, [("1", "c1", "100"), ("2", "c2", "40")])
    session = signed_in(service)
    token = csrf(session, f"{service.base_url}/admin/settings")
    form = dict(_settings_form(session, service))
    form.update({"csrf_token": token, "points_per_unit": "2", "campaigns[0].campaign_id": "spring",
                 "campaigns[0].name": "Spring", "campaigns[0].multiplier": "3",
                 "campaigns[0].starts_at": "2026-03-01T00:00", "campaigns[0].ends_at": "2026-04-01T00:00",
                 "campaigns[0].active": "on"})
    preview = session.post(f"{service.base_url}/admin/settings/preview", data=form, timeout=10)
    assert preview.status_code == 200 and 'id="simulation"' in preview.text
    assert "<th>Points issued</th><td>240</td><td class=\"changed\">940</td>" in preview.text
    saved = session.post(f"{service.base_url}/admin/settings", data=form, timeout=10)
    assert saved.status_code == 200 and "Saved as version 2" in saved.text
    program = service.api("GET", "/program").json()
    assert (program["version"], program["points_per_unit"], program["campaigns"][0]["starts_at"]) == \
        (2, "2", "2026-03-01T00:00:00+00:00")
    diff = session.get(f"{service.base_url}/admin/settings/versions", timeout=10).text
    assert "<th>points_per_unit</th><td>1</td><td>2</td>" in diff
    stopped = session.post(f"{service.base_url}/admin/campaigns/spring/stop", data={"csrf_token": token}, timeout=10)
    assert stopped.status_code == 200
    assert service.api("GET", "/program").json()["campaigns"][0]["active"] is False


def test_dashboard_replay_and_donations(service):  # type: ignore[no-untyped-def]
    from integration.program import Program, Reward, program_to_dict
    place_orders(service, [("1", "c1", "300")])
    assert service.deliver("order/paid", b"not json").status_code == 200
    service.work()
    assert service.api("PUT", "/program", json=program_to_dict(Program(rewards=(
        Reward("tree", "Plant a tree", "donation", 100, 2, cause="Forests"),)))).status_code == 200
    assert service.api("POST", "/members/1/redemptions", json={"reward_id": "tree"}).status_code == 201
    session = signed_in(service)
    page = session.get(f"{service.base_url}/admin/", timeout=10).text
    assert page.count("<svg") == 2 and 'id="failed-events"' in page
    assert "1 webhook events," in page.split('<th>Failed</th>')[1].split("</tr>")[0]  # the health panel
    event_id = service.api("GET", "/events?status=failed").json()["events"][0]["id"]
    token = csrf(session, f"{service.base_url}/admin/")
    assert session.post(f"{service.base_url}/admin/events/{event_id}/replay", data={"csrf_token": token},
                        timeout=10).status_code == 200
    assert service.api("GET", "/events?status=pending").json()["events"][0]["id"] == event_id
    report = session.get(f"{service.base_url}/admin/donations.csv", timeout=10).text.splitlines()
    assert report == ["month,cause,pledges,points,amount", "2026-03,Forests,1,100,2"]


def test_import_page_dry_run_then_import_with_progress(service):  # type: ignore[no-untyped-def]
    import time as clock_time
    session = signed_in(service)
    token = csrf(session, f"{service.base_url}/admin/import")
    body = "customer_id,email,balance\n1,a@x.com,100\n2,b@x.com,40\n"
    dry = session.post(f"{service.base_url}/admin/import", data={"csrf_token": token}, timeout=10,
                       files={"file": ("old-app.csv", body, "text/csv")})
    assert dry.status_code == 200 and "2 new members, 2 balances would change (+140 / -0 points)" in dry.text
    assert service.api("GET", "/members?customer_id=1").json()["members"] == []
    sha = __import__("re").search(r'name="sha" value="([0-9a-f]{64})"', dry.text).group(1)
    run = session.post(f"{service.base_url}/admin/import/apply", data={"csrf_token": token, "sha": sha,
                                                                      "filename": "old-app.csv"}, timeout=10)
    assert "/admin/import/runs/" in run.url and 'id="progress"' in run.text
    for _ in range(50):
        if 'id="status">done' in session.get(run.url, timeout=10).text:
            break
        clock_time.sleep(0.1)
    assert service.api("GET", "/members?customer_id=1").json()["members"][0]["points"] == 100


def test_cli_admin_link_and_simulate(service, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from integration.cli import main
    place_orders(service, [("1", "c1", "100"), ("2", "c2", "40")])
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "test-secret-key"\nbase_url = "{service.base_url}"\n'
                      f'[database]\nurl = "{service.runtime.settings.database.url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    runner = CliRunner()
    link = runner.invoke(main, ["admin-link", "--shop", "shop-a.example"]).stdout.strip()
    assert link.startswith(f"{service.base_url}/admin/login/")
    assert requests.get(link, timeout=10).status_code == 200
    program = tmp_path / "program.toml"
    program.write_text('points_per_unit = "3"\nsignup_bonus = 0\n[[tiers]]\nname = "Gold"\nthreshold = "50"\n')
    result = runner.invoke(main, ["simulate", "--shop", "shop-a.example", "--program", str(program)])
    assert result.exit_code == 0, result.output
    issued = next(line for line in result.stdout.splitlines() if line.startswith("Points issued")).split()
    assert issued[-2:] == ["240", "420"] and "simulating [" in result.stderr
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,paid_at,eligible\nx,2026-01-01T10:00:00,10\n")
    result = runner.invoke(main, ["simulate", "--shop", "shop-a.example", "--orders", str(orders),
                                  "--program", str(program)])
    assert next(line for line in result.stdout.splitlines() if line.startswith("Points issued")).split()[-2:] == ["60", "30"]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the test app secret is short
def test_shopify_embedded_session_token_signs_in_to_its_own_shop(service, clock):  # type: ignore[no-untyped-def]
    import jwt

    from integration.shops import add_shop
    with service.runtime.db.write() as conn:
        add_shop(conn, service.runtime.box, platform="shopify", domain="emb.myshopify.com", now=clock())
    now = int(clock().timestamp())
    claims = {"iss": "https://emb.myshopify.com/admin", "dest": "https://emb.myshopify.com", "aud": "test-api-key",
              "sub": "42", "exp": now + 60, "nbf": now - 5, "iat": now - 5, "jti": "j", "sid": "s"}
    token = jwt.encode(claims, "hush", algorithm="HS256")
    page = requests.get(f"{service.base_url}/admin/", params={"id_token": token}, timeout=10)
    assert page.status_code == 200 and "emb.myshopify.com" in page.text
    assert "loyalty_admin=" in page.headers["Set-Cookie"]
    fetched = requests.get(f"{service.base_url}/admin/members", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert fetched.status_code == 200
    forged = jwt.encode(claims, "not-the-secret", algorithm="HS256")
    refused = requests.get(f"{service.base_url}/admin/", params={"id_token": forged}, timeout=10)
    assert refused.status_code == 401 and refused.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
