"""The public landing page of a member's referral link, `/r/<code>`: a friend gives an email and
gets a single-use, new-customers-only welcome code, written into the store at once when it
answers (else by the outbox a little later), with the store's link that applies it.

Parse, call `integration.referrals.invite`, render. The visitor's address is only kept as a keyed
hash (fraud checks: same address as the referrer, many friends from one address).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlalchemy import select

from integration import referrals
from integration.db import repo
from integration.db.tables import referrals as referrals_table
from integration.i18n import LANGUAGE_NAMES, Lang
from integration.runtime import Runtime
from integration.summary import apply_url, shop_info
from integration.web.portal import _lang, _respond, _runtime, error_page
from integration.web.store_writes import write_now

blueprint = Blueprint("referral", __name__)


def _page(lang: Lang, code: str, status: int = 200, **values: Any) -> Response:
    html = render_template("portal/referral.html", lang=lang, _=lang.gettext, action=f"/r/{code}",
                           languages=LANGUAGE_NAMES, **values)
    return _respond(html, status)


def _offer(runtime: Runtime, code: str) -> tuple[Any, Any, Lang] | Response:
    with runtime.db.read() as conn:
        link = referrals.find_link(conn, code)
        if link is None:
            lang = _lang()
            return error_page(lang, 404, lang.gettext("This link is not valid"),
                              lang.gettext("Please open the link from your latest email, exactly as it was sent."))
        shop = shop_info(conn, link.shop_id)
        program = repo.current_program(conn, link.shop_id)
    lang = _lang(shop.locale)
    if not program.referrals.enabled:
        return error_page(lang, 410, lang.gettext("A gift from a friend"), lang.gettext("The referral program is paused."))
    return shop, program.referrals, lang


def _discount(lang: Lang, settings: Any, currency: str) -> str:
    if settings.friend_discount_kind == "percent_off":
        return f"{lang.number(settings.friend_discount_value)} %"
    return lang.money(settings.friend_discount_value, currency)


@blueprint.get("/r/<code>")
def landing(code: str):  # type: ignore[no-untyped-def]
    found = _offer(_runtime(), code)
    if isinstance(found, Response):
        return found
    shop, settings, lang = found
    return _page(lang, code, shop=shop, discount=_discount(lang, settings, shop.currency))


@blueprint.post("/r/<code>")
def get_code(code: str):  # type: ignore[no-untyped-def]
    runtime = _runtime()
    found = _offer(runtime, code)
    if isinstance(found, Response):
        return found
    shop, settings, lang = found
    email = (request.form.get("email") or "").strip()[:320]
    ip_key = referrals.address_key(runtime.settings.server.secret_key, request.remote_addr)
    values = {"shop": shop, "discount": _discount(lang, settings, shop.currency), "email": email}
    try:
        with runtime.db.write() as conn:
            row = referrals.invite(conn, code, email, ip_key, runtime.clock())
    except referrals.InvalidFriendEmailError:
        return _page(lang, code, 422, error=lang.gettext("Please enter a valid email address."), **values)
    except referrals.AlreadyInvitedError:
        return _page(lang, code, 409, error=lang.gettext("This email address has already been invited."), **values)
    except referrals.ReferralsPausedError:
        return _page(lang, code, 410, error=lang.gettext("The referral program is paused."), **values)
    if row.status == "blocked":
        return _page(lang, code, 403, error=lang.gettext("This email cannot get a welcome gift from this link."), **values)
    if row.code_status == "pending":
        row = deliver_now(runtime, row)
    url = row.code_url or apply_url(shop.platform, shop.domain, row.code)
    return _page(lang, code, 200, referral=row, url=url, **values)


def deliver_now(runtime: Runtime, row: Any) -> Any:
    """Write the friend's code into the store now if it answers; the referral as it then stands."""
    return write_now(runtime, row.shop_id, f"referral-code:{row.id}",
                     lambda conn: conn.execute(select(referrals_table).where(referrals_table.c.id == row.id)).one(),
                     lambda current: current.code_status != "pending")


def member_link(runtime: Runtime, shop_id: int, member_id: int) -> tuple[str, int] | None:
    """For the member's own page: (their referral URL, the points a friend's order earns them),
    None while the program is paused. Remembers (hashed) the address the page is seen from."""
    ip_key = referrals.address_key(runtime.settings.server.secret_key, request.remote_addr)
    with runtime.db.read() as conn:
        program = repo.current_program(conn, shop_id)
        code = referrals.link_code(conn, shop_id, member_id)
        seen = ip_key is None or ip_key in referrals.visits(conn, shop_id, member_id)
    if code is None or not seen:
        with runtime.db.write() as conn:
            code = referrals.ensure_link(conn, shop_id, member_id, runtime.clock())
            referrals.record_visit(conn, shop_id, member_id, ip_key, runtime.clock())
    if not program.referrals.enabled:
        return None
    return referrals.link_url(runtime.settings.server.base_url, code), program.referrals.referrer_points
