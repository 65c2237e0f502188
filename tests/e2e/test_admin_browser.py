"""The settings page in headless Chromium: sign in with a one-time link, change the earn rate and
add a tier, preview both programs on past orders, save; a bad value is shown next to its field;
another shop's member is out of reach; the dashboard is photographed with its charts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.admin_helpers import login_link, place_orders
from tests.integration.conftest import service  # noqa: F401  (the running service fixture)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop_with_history(service):  # type: ignore[no-untyped-def]  # noqa: F811
    place_orders(service, [("1", "ann", "120"), ("2", "ann", "80"), ("3", "ben", "45.50"), ("4", "cy", "260")],
                 refunds=[("4", "r1", "60")])
    return service


def test_sign_in_change_rules_preview_and_save(page, shop_with_history, tmp_path):  # type: ignore[no-untyped-def]
    service = shop_with_history
    page.goto(login_link(service))
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() == 2
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    (ROOT / "var" / "screenshots").mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ROOT / "var" / "screenshots" / "dashboard.png")

    page.click("text=Settings")
    page.fill('input[name="points_per_unit"]', "2")
    page.fill('input[name="tiers[0].name"]', "Gold")
    page.fill('input[name="tiers[0].threshold"]', "150")
    page.fill('input[name="tiers[0].multiplier"]', "1.5")
    page.click("#preview")
    table = page.locator("#simulation table")
    table.wait_for()
    issued = table.locator("tr", has_text="Points issued").locator("td")
    assert [issued.nth(0).inner_text(), issued.nth(1).inner_text()] != ["", ""]
    assert issued.nth(0).inner_text() != issued.nth(1).inner_text()
    assert table.locator("tr", has_text="Members in tier Gold").count() == 1
    assert page.input_value('input[name="points_per_unit"]') == "2"  # the form keeps what was typed

    page.click("#save")
    page.wait_for_selector("#saved")
    program = service.api("GET", "/program").json()
    assert program["version"] == 2 and program["points_per_unit"] == "2"
    assert [(t["name"], t["threshold"], t["multiplier"]) for t in program["tiers"]] == [("Gold", "150", "1.5")]


def test_a_bad_value_is_shown_next_to_its_field_and_nothing_is_saved(page, shop_with_history):  # type: ignore[no-untyped-def]
    service = shop_with_history
    page.goto(login_link(service))
    page.goto(f"{service.base_url}/admin/settings")
    page.fill('input[name="signup_bonus"]', "-10")
    page.fill('input[name="rewards[1].points_cost"]', "ten")
    page.click("#save")
    near = page.locator('label:has(input[name="signup_bonus"]) .problem')
    assert near.inner_text() == "must be 0 or more"
    assert page.locator('label:has(input[name="rewards[1].points_cost"]) .problem').inner_text() == "not a whole number"
    assert page.locator("#problems").is_visible()
    assert service.api("GET", "/program").json()["version"] == 1


def test_another_shops_data_is_unreachable_by_changing_ids(page, shop_with_history):  # type: ignore[no-untyped-def]
    service = shop_with_history
    other_id, _ = service.add_shop("shop-b.example")
    page.goto(login_link(service, other_id))
    for path in ("/admin/members/1", "/admin/members/2", "/admin/import/runs/1"):
        response = page.goto(f"{service.base_url}{path}")
        assert response.status == 404, path
    page.goto(f"{service.base_url}/admin/members")
    assert "ann@example.com" not in page.content()
