"""Signed links and sign-in under forgery: portal links (forged, truncated, expired), one-time
admin links (forged, reused), Shopify OAuth callbacks (forged, replayed with a used code and
state) and App Bridge session tokens (garbage, wrong key, expired, wrong shop). A clear 4xx
each time, never a 500, and nothing changes."""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.shopify import ShopifyPlatform
from integration.config import build_settings
from integration.db.tables import emails, ledger_entries, redemptions, shops
from integration.links import portal_token
from integration.web.admin_auth import create_login_link
from integration.web.bootstrap import build_runtime, create_app
from tests.fake_shopify import fake_shopify, signed_query  # noqa: F401
from tests.fuzz.conftest import API_KEY, FUZZ_EXAMPLES, SHOPIFY_SECRET

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
tokens = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="/?#%\\"),
                 min_size=1, max_size=120)


def nothing_spent(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(redemptions)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one() == 0


@FUZZ
@given(token=tokens, action=st.sampled_from(["redeem", "birthday", "claim", "renew"]))
def test_forged_portal_links_are_refused(fuzz_app, token, action):  # type: ignore[no-untyped-def]
    page = fuzz_app.client.get(f"/portal/{token}")
    posted = fuzz_app.client.post(f"/portal/{token}/{action}", data={"reward_id": "r200", "form_token": token})
    assert page.status_code in (403, 404), page.status_code
    if action == "renew":  # the same answer for any link, so links cannot be probed; nothing is sent
        assert posted.status_code == 200
    else:
        assert posted.status_code in (400, 403, 404, 405), posted.status_code
    nothing_spent(fuzz_app.runtime)
    with fuzz_app.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(emails)).scalar_one() == 0


def test_an_expired_portal_link_is_410_and_a_tampered_one_403(fuzz_app):  # type: ignore[no-untyped-def]
    secret, now = fuzz_app.runtime.settings.server.secret_key, fuzz_app.runtime.clock()
    expired = portal_token(secret, fuzz_app.shop_ids["shopify"], 1, now - timedelta(days=400))
    assert fuzz_app.client.get(f"/portal/{expired}").status_code == 410
    assert fuzz_app.client.post(f"/portal/{expired}/redeem", data={"reward_id": "r200"}).status_code in (403, 410)
    valid = portal_token(secret, fuzz_app.shop_ids["shopify"], 1, now)
    tampered = valid[:-2] + ("AA" if not valid.endswith("AA") else "BB")
    assert fuzz_app.client.get(f"/portal/{tampered}").status_code == 403
    other_key = portal_token("another-secret", fuzz_app.shop_ids["shopify"], 1, now)
    assert fuzz_app.client.get(f"/portal/{other_key}").status_code == 403
    nothing_spent(fuzz_app.runtime)


@FUZZ
@given(token=tokens)
def test_forged_admin_links_sign_nobody_in(fuzz_app, token):  # type: ignore[no-untyped-def]
    answer = fuzz_app.client.get(f"/admin/login/{token}")
    assert answer.status_code in (403, 404)
    assert "Set-Cookie" not in answer.headers


def test_an_admin_link_works_once(fuzz_app):  # type: ignore[no-untyped-def]
    with fuzz_app.runtime.db.write() as conn:
        link = create_login_link(conn, fuzz_app.shop_ids["shopify"], "http://localhost", fuzz_app.runtime.clock())
    path = urlsplit(link).path
    assert fuzz_app.client.get(path).status_code == 303
    replay = fuzz_app.client.application.test_client().get(path)
    assert replay.status_code == 403 and "Set-Cookie" not in replay.headers


@FUZZ
@given(token=st.one_of(tokens, st.builds(lambda secret, shop, exp: jwt.encode(
    {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": API_KEY, "sub": "1",
     "exp": exp, "nbf": exp - 60}, secret, algorithm="HS256"),
    st.sampled_from(["another-app-secret-0123456789abcdef", SHOPIFY_SECRET]),
    st.sampled_from(["fuzz.myshopify.com", "evil.example.com", "other.myshopify.com"]),
    st.integers(0, int(time.time()) - 3600))))
def test_forged_session_tokens_are_401(fuzz_app, token):  # type: ignore[no-untyped-def]
    home = fuzz_app.client.get("/shopify", headers={"Authorization": f"Bearer {token}"})
    assert home.status_code in (400, 401), home.status_code
    admin = fuzz_app.client.get("/admin/", headers={"Authorization": f"Bearer {token}"})
    assert admin.status_code in (302, 303, 401, 403), admin.status_code
    assert "Set-Cookie" not in admin.headers


def test_a_replayed_oauth_callback_installs_nothing(fake_shopify, db, db_url):  # type: ignore[no-untyped-def]
    settings_ = build_settings({
        "server": {"secret_key": "oauth-fuzz-secret", "base_url": "http://localhost"}, "database": {"url": db_url},
        "shopify": {"api_key": fake_shopify.client_id, "api_secret": fake_shopify.client_secret,
                    "admin_url": fake_shopify.admin_url}}, environ={})
    platform = ShopifyPlatform(admin_url=fake_shopify.admin_url, sleep=lambda s: None, max_attempts=1)
    client = create_app(build_runtime(settings_, platforms={"shopify": platform}, db=db)).test_client()
    shop = "oauth-fuzz.myshopify.com"
    started = client.get("/shopify/install?" + signed_query({"shop": shop, "timestamp": str(int(time.time()))}))
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    callback = "/shopify/callback?" + fake_shopify.callback_query(shop, state)
    assert client.get(callback).status_code == 302
    with db.read() as conn:
        credentials = conn.execute(select(shops.c.credentials)).scalar_one()
    # when the same callback comes again (the code is spent), with and without the state cookie
    again = client.get(callback)
    cookieless = client.application.test_client().get(callback)
    forged = client.application.test_client().get(callback.replace("hmac=", "hmac=00"))
    # then nothing is installed again and the answers are clear refusals
    assert again.status_code in (400, 403), again.status_code  # Shopify refuses the spent code: 400
    assert cookieless.status_code == 400 and forged.status_code in (400, 403)
    with db.read() as conn:
        assert conn.execute(select(shops.c.credentials)).scalars().all() == [credentials]
