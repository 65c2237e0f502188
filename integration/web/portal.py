"""The customer portal: one server-rendered page per member, reached by a signed, expiring link
(`/portal/<token>`) or through the Shopify app proxy (`/proxy/shopify`, for the logged-in customer).

Parse, call one use case, render. Forms carry a token bound to the member and to a nonce drawn
for each rendered page; a redemption's Idempotency-Key is derived from that nonce, so a double
click or a resubmitted form returns the first redemption instead of spending again. Pages send
no cookies (the app proxy strips them anyway) and keep their link out of `Referer`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy import func, select, update

from integration import links, notifications
from integration.db import repo
from integration.db.tables import claims, members, orders, shops
from integration.i18n import LANGUAGE_NAMES, SUPPORTED, Lang, choose
from integration.redemption import (
    InsufficientPointsError,
    ShopNotActiveError,
    UnknownRewardError,
    redeem,
)
from integration.runtime import Runtime
from integration.summary import code_line, member_summary, shop_info
from integration.web import portal_claims

blueprint = Blueprint("portal", __name__)


@dataclass(frozen=True, slots=True)
class Visit:
    """Who is looking, in which shop and language, and where the page's forms post to."""

    shop_id: int
    member_id: int | None
    lang: Lang
    action: str  # URL prefix of the forms: /portal/<token> or the proxy's path prefix
    customer_id: str | None = None  # the app proxy's logged-in customer (maybe not a member yet)


def _runtime() -> Runtime:
    return current_app.extensions["loyalty"]


def _lang(*candidates: str | None) -> Lang:
    asked = request.values.get("lang")
    return Lang(choose(asked if asked in SUPPORTED else None, *candidates,
                       accept_language=request.accept_languages))


def _respond(html: str, status: int = 200) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key: never leak it
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _page(template: str, visit: Visit, status: int = 200, **values: Any) -> Response:
    lang = visit.lang
    html = render_template(template, lang=lang, _=lang.gettext, action=visit.action,
                           languages=LANGUAGE_NAMES, **values)
    return _respond(html, status)


def error_page(lang: Lang, status: int, title: str, message: str, **values: Any) -> Response:
    html = render_template("portal/error.html", lang=lang, _=lang.gettext, title=title, message=message,
                           languages=LANGUAGE_NAMES, action=None, **values)
    return _respond(html, status)


# -- the signed link ----------------------------------------------------------------------------

def _visit_from_token(token: str) -> Visit | Response:
    runtime = _runtime()
    try:
        ref = links.read_portal_token(runtime.settings.server.secret_key, token, runtime.clock())
    except links.LinkExpiredError:
        lang = _lang()
        return error_page(lang, 410, lang.gettext("This link has expired"),
                          lang.gettext("For your security, links to your rewards last 90 days."), renew=token)
    except links.LinkInvalidError:
        lang = _lang()
        return error_page(lang, 403, lang.gettext("This link is not valid"),
                          lang.gettext("Please open the link from your latest email, exactly as it was sent."))
    with runtime.db.read() as conn:
        row = conn.execute(select(members.c.locale, members.c.redacted, shops.c.locale.label("shop_locale"))
                           .select_from(members.join(shops, shops.c.id == members.c.shop_id))
                           .where(members.c.shop_id == ref.shop_id, members.c.id == ref.member_id)).first()
    if row is None or row.redacted:
        lang = _lang()
        return error_page(lang, 410, lang.gettext("This link is not valid"),
                          lang.gettext("This membership no longer exists."))
    return Visit(ref.shop_id, ref.member_id, _lang(row.locale, row.shop_locale), f"/portal/{token}")


@blueprint.get("/portal/<token>")
def portal_page(token: str):  # type: ignore[no-untyped-def]
    visit = _visit_from_token(token)
    return visit if isinstance(visit, Response) else member_page(visit)


@blueprint.post("/portal/<token>/<action>")
def portal_post(token: str, action: str):  # type: ignore[no-untyped-def]
    visit = _visit_from_token(token)
    return visit if isinstance(visit, Response) else handle_post(visit, action)


@blueprint.post("/portal/<token>/renew")
def renew_link(token: str):  # type: ignore[no-untyped-def]
    """An expired (but genuine) link: email a fresh one to the address on file, once a day."""
    runtime, lang = _runtime(), _lang()
    try:
        links.read_portal_token(runtime.settings.server.secret_key, token, runtime.clock())
        ref = None
    except links.LinkExpiredError as expired:
        ref = expired
    except links.LinkInvalidError:
        ref = None
    if ref is not None:
        with runtime.db.write() as conn:
            if conn.execute(select(members.c.id).where(members.c.shop_id == ref.shop_id,
                                                       members.c.id == ref.member_id)).first():
                notifications.portal_link(conn, ref.shop_id, ref.member_id, runtime.clock())
    return error_page(lang, 200, lang.gettext("Check your email"),
                      lang.gettext("If we know this link, a new one is on its way to you."))


# -- the page and its forms ---------------------------------------------------------------------

def member_page(visit: Visit, notice: tuple[str, str] | None = None, status: int = 200) -> Response:
    """The member's page; `notice` is (kind, message) with kind "ok" or "error"."""
    runtime = _runtime()
    if visit.member_id is None:
        return welcome_page(visit, notice, status)
    now = runtime.clock()
    with runtime.db.read() as conn:
        summary = member_summary(conn, visit.shop_id, visit.member_id, now)
    from integration.web.referral import member_link
    nonce = secrets.token_urlsafe(12)
    return _page("portal/page.html", visit, status, s=summary, notice=notice, now=now,
                 referral=member_link(runtime, visit.shop_id, visit.member_id),
                 form_token=links.form_token(runtime.settings.server.secret_key, visit.member_id, nonce))


def welcome_page(visit: Visit, notice: tuple[str, str] | None = None, status: int = 200,
                 login_url: str | None = None) -> Response:
    """How the program works, for a visitor we cannot show a balance to."""
    runtime = _runtime()
    with runtime.db.read() as conn:
        shop = shop_info(conn, visit.shop_id)
        program = repo.current_program(conn, visit.shop_id)
    return _page("portal/welcome.html", visit, status, shop=shop, program=program, notice=notice,
                 login_url=login_url, signed_in=visit.customer_id is not None)


def handle_post(visit: Visit, action: str) -> Response:
    if action == "claim":
        return portal_claims.claim(visit, request.form.get("order_number", ""), request.form.get("email", ""),
                                   request.remote_addr or "")
    runtime = _runtime()
    if visit.member_id is None:
        return welcome_page(visit, ("error", visit.lang.gettext("Please sign in first.")), 403)
    try:
        nonce = links.read_form_token(runtime.settings.server.secret_key, request.form.get("form_token", ""),
                                      visit.member_id)
    except links.LinkInvalidError:
        return member_page(visit, ("error", visit.lang.gettext("This form has expired. Please try again.")), 400)
    if action == "redeem":
        return _redeem(visit, request.form.get("reward_id", ""), nonce)
    if action == "birthday":
        return _birthday(visit, request.form.get("day", ""), request.form.get("month", ""))
    lang = visit.lang
    return error_page(lang, 404, lang.gettext("Page not found"), lang.gettext("Page not found"))


def _redeem(visit: Visit, reward_id: str, nonce: str) -> Response:
    from integration.web.store_writes import deliver_now

    runtime, lang = _runtime(), visit.lang
    assert visit.member_id is not None
    try:
        with runtime.db.write() as conn:
            row = redeem(conn, visit.shop_id, visit.member_id, reward_id[:60], runtime.clock(),
                         idempotency_key=f"portal:{nonce}:{reward_id}"[:200])
    except InsufficientPointsError as error:
        return member_page(visit, ("error", lang.gettext("You need %(points)s more for this reward.",
                                                         points=lang.points(error.needed - error.spendable))), 409)
    except UnknownRewardError:
        return member_page(visit, ("error", lang.gettext("This reward is no longer available.")), 422)
    except ShopNotActiveError:
        return member_page(visit, ("error", lang.gettext("Rewards cannot be redeemed right now.")), 409)
    if row.status == "pending":
        row = deliver_now(runtime, row)
    with runtime.db.read() as conn:
        shop = shop_info(conn, visit.shop_id)
        balance = repo.spendable_points(conn, visit.shop_id, visit.member_id, runtime.clock())
    code = code_line(row, shop.platform, shop.domain, runtime.clock()) if row.code else None
    return _page("portal/redeemed.html", visit, 200, shop=shop, redemption=row, code=code, balance=balance)


def _birthday(visit: Visit, day: str, month: str) -> Response:
    """Set once: day and month, stored on the placeholder year 2000 (a leap year, so 29 February
    is a birthday too). A second attempt changes nothing."""
    runtime, lang = _runtime(), visit.lang
    try:
        birthday = date(2000, int(month), int(day))
    except ValueError:
        return member_page(visit, ("error", lang.gettext("Please choose a valid day and month.")), 422)
    with runtime.db.write() as conn:
        changed = conn.execute(update(members).where(
            members.c.shop_id == visit.shop_id, members.c.id == visit.member_id, members.c.birthday.is_(None),
        ).values(birthday=birthday)).rowcount
    if not changed:
        return member_page(visit, ("error", lang.gettext("Your birthday is already saved.")), 409)
    return member_page(visit, ("ok", lang.gettext("Thank you! We saved your birthday.")))


# -- unsubscribe (RFC 8058 one-click: POST; GET only shows the button) ----------------------------

def _unsubscribe_member(token: str) -> tuple[Any, Lang] | Response:
    runtime = _runtime()
    try:
        ref = links.read_unsubscribe_token(runtime.settings.server.secret_key, token)
    except links.LinkInvalidError:
        lang = _lang()
        return error_page(lang, 403, lang.gettext("This link is not valid"),
                          lang.gettext("Please open the link from your latest email, exactly as it was sent."))
    with runtime.db.read() as conn:
        row = conn.execute(select(members.c.id, members.c.shop_id, members.c.locale).where(
            members.c.shop_id == ref.shop_id, members.c.id == ref.member_id)).first()
        shop_locale = conn.execute(select(shops.c.locale).where(shops.c.id == ref.shop_id)).scalar()
    lang = _lang(row.locale if row else None, shop_locale)
    if row is None:
        return error_page(lang, 410, lang.gettext("This link is not valid"),
                          lang.gettext("This membership no longer exists."))
    return row, lang


@blueprint.get("/unsubscribe/<token>")
def unsubscribe_form(token: str):  # type: ignore[no-untyped-def]
    found = _unsubscribe_member(token)
    if isinstance(found, Response):
        return found
    _row, lang = found
    return error_page(lang, 200, lang.gettext("Unsubscribe"),
                      lang.gettext("Stop emails about your points and rewards?"), unsubscribe=token)


@blueprint.post("/unsubscribe/<token>")
def unsubscribe(token: str):  # type: ignore[no-untyped-def]
    found = _unsubscribe_member(token)
    if isinstance(found, Response):
        return found
    row, lang = found
    with _runtime().db.write() as conn:
        conn.execute(update(members).where(members.c.shop_id == row.shop_id, members.c.id == row.id)
                     .values(unsubscribed=True))
    return error_page(lang, 200, lang.gettext("You are unsubscribed"),
                      lang.gettext("You will get no more emails about your points. Codes you redeem still arrive."))


# -- claims: the rate limit's counts ---------------------------------------------------------------

def recent_claims(conn: Any, shop_id: int, member_id: int | None, ip: str, since: Any) -> tuple[int, int]:
    """Claims in the window by this member, and from this address."""
    base = select(func.count()).where(claims.c.shop_id == shop_id, claims.c.created_at >= since)
    by_member = conn.execute(base.where(claims.c.member_id == member_id)).scalar_one() if member_id else 0
    by_ip = conn.execute(base.where(claims.c.ip == ip)).scalar_one() if ip else 0
    return by_member, by_ip


def order_points(conn: Any, shop_id: int, order_id: str) -> Any:
    return conn.execute(select(orders.c.member_id, orders.c.earned_points).where(
        orders.c.shop_id == shop_id, orders.c.order_id == order_id)).first()


CLAIM_WINDOW = timedelta(hours=1)


def babel_locale() -> str:
    """Flask-Babel's locale for templates that use its `gettext` (the portal passes its own)."""
    return choose(accept_language=request.accept_languages)
