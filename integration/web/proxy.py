"""The portal on the storefront, through Shopify's app proxy: `https://{shop}/apps/<subpath>/…` is
forwarded here with a signed query (`adapters.shopify.auth.verify_app_proxy`, 90 s freshness,
the app's current or previous secret, or a custom app's own secret).

The signature proves the query, not the person: only `logged_in_customer_id`'s own data is shown
(DESIGN, shopify.md §7). Nobody logged in → how the program works and a sign-in prompt. A bad or
stale signature → 401. Forms post back through the proxy, which signs each request afresh.
"""
from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import select

from adapters.shopify.auth import verify_app_proxy
from integration.db.tables import members
from integration.shops import find_shop, webhook_secrets
from integration.web import portal

blueprint = Blueprint("shopify_proxy", __name__, url_prefix="/proxy/shopify")


@blueprint.route("", methods=["GET", "POST"], strict_slashes=False)
@blueprint.route("/<path:action>", methods=["GET", "POST"])
def storefront(action: str = ""):  # type: ignore[no-untyped-def]
    runtime = portal._runtime()
    query = request.query_string.decode("utf-8", "replace")
    claimed_shop = request.args.get("shop", "")
    with runtime.db.read() as conn:
        shop = find_shop(conn, "shopify", claimed_shop)
    secrets = webhook_secrets(runtime.box, shop, runtime.app_secrets.get("shopify", ()))
    verified = verify_app_proxy(query, secrets, now=runtime.clock().timestamp()) if secrets else None
    if verified is None or shop is None or verified.shop != shop.domain:
        lang = portal._lang()
        return portal.error_page(lang, 401, lang.gettext("This link is not valid"),
                                 lang.gettext("Please open the rewards page from the store."))
    prefix = (verified.path_prefix or "/proxy/shopify").rstrip("/")
    member = None
    if verified.logged_in_customer_id:
        with runtime.db.read() as conn:
            member = conn.execute(select(members.c.id, members.c.locale, members.c.redacted).where(
                members.c.shop_id == shop.id, members.c.customer_id == verified.logged_in_customer_id)).first()
    lang = portal._lang(member.locale if member else None, shop.locale)
    visit = portal.Visit(shop.id, member.id if member and not member.redacted else None, lang, prefix,
                         customer_id=verified.logged_in_customer_id)
    if request.method == "POST":
        return portal.handle_post(visit, action.strip("/"))
    if visit.member_id is None:
        return portal.welcome_page(visit, login_url=None if visit.customer_id else f"/account/login?return_url={prefix}")
    return portal.member_page(visit)
