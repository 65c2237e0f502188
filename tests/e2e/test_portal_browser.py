"""The portal in headless Chromium: open a member's link, redeem, see the code; nothing is spent
twice; Arabic is laid out right to left; a tampered link shows the error page."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from integration.db.tables import members, redemptions
from tests.integration.conftest import service  # noqa: F401 - the running service fixture
from tests.integration.portal_helpers import member_with_order, portal_link


def _screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """For a person to look at: var/screenshots/ (not committed)."""
    folder = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def _state(running, member_id: int) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    with running.runtime.db.read() as conn:
        balance = conn.execute(select(members.c.balance).where(members.c.id == member_id)).scalar_one()
        codes = conn.execute(select(redemptions.c.code).where(redemptions.c.member_id == member_id)).scalars().all()
    return balance, list(codes)


def test_open_the_link_redeem_and_nothing_is_spent_twice(service, page):  # noqa: F811
    # given a member with 300 points
    member_id = member_with_order(service, "250.00")
    link = portal_link(service, member_id)
    # when the customer opens their link
    response = page.goto(link)
    # then they see their balance and how far the next reward is
    assert response is not None and response.status == 200
    assert page.inner_text("#points") == "300 points"
    assert page.inner_text("#next-reward") == "200 points to $15 off"
    token = page.get_attribute("#rewards input[name=form_token]", "value")
    # when they double-click "Redeem" on $5 off
    page.dblclick("button[data-reward=r200]")
    page.wait_for_selector("#code")
    # then the code is shown with a link that applies it in the store, and 200 points are gone
    balance, codes = _state(service, member_id)
    assert codes and len(codes) == 1 and balance == 100
    assert page.inner_text("#code") == codes[0]
    assert page.get_attribute("#apply", "href") == f"https://shop-a.example/discount/{codes[0]}"
    assert page.inner_text("#balance-after") == "Points left to spend: 100 points"
    _screenshot(page, "portal-redeemed.png")
    # when the same form is sent again (a retried request)
    again = page.request.post(f"{link}/redeem", form={"form_token": token or "", "reward_id": "r200"})
    # then it shows the same code and spends nothing
    assert again.status == 200 and codes[0] in again.text()
    assert _state(service, member_id) == (100, codes)
    # and back on the page, the balance is 100 and $5 off is out of reach
    page.goto(link)
    assert page.inner_text("#points") == "100 points"
    assert page.locator("button[data-reward=r200]").count() == 0
    assert codes[0] in page.inner_text("#codes")


def test_the_arabic_page_is_right_to_left(service, page):  # noqa: F811
    member_id = member_with_order(service, "250.00", locale="ar")
    page.goto(portal_link(service, member_id))
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "ar"
    _screenshot(page, "portal-ar.png")
    assert page.inner_text("#points") == "300 نقطة"
    name = page.locator("#rewards li").first.locator("span").first.bounding_box()
    button = page.locator("button[data-reward=r200]").bounding_box()
    assert name and button
    assert button["x"] < name["x"]  # the row runs right to left: the name first (right), the button last


def test_a_tampered_link_shows_the_error_page(service, page):  # noqa: F811
    member_id = member_with_order(service, "250.00")
    link = portal_link(service, member_id)
    response = page.goto(link[:-2] + ("xx" if not link.endswith("xx") else "yy"))
    assert response is not None and response.status == 403
    assert page.inner_text("h1") == "This link is not valid"
    assert "300" not in page.content()
