"""Who may see a shop's settings page, and the CSRF token of their session.

Two ways in:
- **embedded in the Shopify admin**: every document load carries an App Bridge session token
  (`id_token` query parameter) and every fetch an `Authorization: Bearer` one. It is verified
  with `adapters.shopify.auth.decode_session_token` (our client id and secrets) and names the
  shop in `dest`; we map that domain to our shop row. The verified load also starts a cookie
  session, so the page's own links and forms work.
- **a one-time sign-in link** for WooCommerce and self-hosted use: `loyalty admin-link --shop S`
  prints `{base_url}/admin/login/<token>`. Only the token's SHA-256 is stored; it works once,
  for 15 minutes, and sets the session cookie.

The session is our own signed cookie (itsdangerous, keyed by `server.secret_key`), not Flask's:
`loyalty_admin`, path `/admin`, HttpOnly, SameSite=Lax, Secure when `base_url` is https,
12 hours. It carries the shop id and a random CSRF token. CSRF protection is written here
(no library): every POST must echo that token in the `csrf_token` form field or the
`X-CSRF-Token` header, compared in constant time. Requests authenticated by a Bearer session
token carry no ambient credential and need no CSRF token.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from flask import Response, abort, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection, select, update

from integration.db import repo
from integration.db.tables import admin_login_tokens, shops
from integration.runtime import Runtime

COOKIE = "loyalty_admin"
SESSION_SECONDS = 12 * 3600
LINK_MINUTES = 15


@dataclass(frozen=True, slots=True)
class AdminSession:
    shop_id: int
    csrf: str
    via: str  # "link" or "shopify"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_login_link(conn: Connection, shop_id: int, base_url: str, now: datetime) -> str:
    """A single-use sign-in URL, valid for `LINK_MINUTES`; only its hash is stored."""
    repo.shop_row(conn, shop_id)
    token = secrets.token_urlsafe(32)
    conn.execute(admin_login_tokens.insert().values(
        shop_id=shop_id, token_hash=_hash(token), created_at=now, expires_at=now + timedelta(minutes=LINK_MINUTES)))
    return f"{base_url.rstrip('/')}/admin/login/{token}"


def redeem_login_token(conn: Connection, token: str, now: datetime) -> int | None:
    """The shop the token signs into, marking it used in the same UPDATE (so two tabs racing
    for one link get one session); None if unknown, used or expired."""
    row = conn.execute(select(admin_login_tokens).where(admin_login_tokens.c.token_hash == _hash(token))).first()
    if row is None:
        return None
    expires_at = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt_timezone.utc)
    if expires_at <= now:
        return None
    claimed = conn.execute(update(admin_login_tokens).where(
        admin_login_tokens.c.id == row.id, admin_login_tokens.c.used_at.is_(None)).values(used_at=now))
    return int(row.shop_id) if claimed.rowcount == 1 else None


def _serializer(runtime: Runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.settings.server.secret_key, salt="loyalty-bridge/admin-session")


def new_session(shop_id: int, via: str) -> AdminSession:
    return AdminSession(shop_id, secrets.token_urlsafe(24), via)


def set_cookie(runtime: Runtime, response: Response, session: AdminSession) -> None:
    """Inside the Shopify admin the page is a cross-site iframe: its cookie must be
    SameSite=None (and so Secure); everywhere else Lax."""
    secure = runtime.settings.server.base_url.startswith("https://")
    response.set_cookie(COOKIE, _serializer(runtime).dumps({"shop": session.shop_id, "csrf": session.csrf,
                                                            "via": session.via}),
                        max_age=SESSION_SECONDS, path="/admin", httponly=True, secure=secure,
                        samesite="None" if session.via == "shopify" and secure else "Lax")


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/admin")


def session_from_cookie(runtime: Runtime) -> AdminSession | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: dict[str, Any] = _serializer(runtime).loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:  # also SignatureExpired
        return None
    with runtime.db.read() as conn:
        shop = conn.execute(select(shops.c.status).where(shops.c.id == data["shop"])).first()
    if shop is None:
        return None
    return AdminSession(int(data["shop"]), str(data["csrf"]), str(data.get("via", "link")))


def shopify_session_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("id_token") or None


def shop_for_session_token(runtime: Runtime, token: str) -> int | None:
    """Our shop for a verified App Bridge session token; None when it does not verify or the
    shop is not installed here."""
    from adapters.shopify.auth import InstallError, decode_session_token  # an edge that knows Shopify

    shopify = runtime.settings.shopify
    secrets_ = tuple(s for s in runtime.app_secrets.get("shopify", ()) if s)
    if not shopify.api_key or not secrets_:
        return None
    try:
        session = decode_session_token(token, shopify.api_key, secrets_, now=runtime.clock().timestamp())
    except InstallError:
        return None
    with runtime.db.read() as conn:
        row = conn.execute(select(shops.c.id).where(shops.c.platform == "shopify",
                                                    shops.c.domain == session.shop)).first()
    return int(row.id) if row else None


def check_csrf(session: AdminSession) -> None:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        abort(403, "the form has expired or did not come from this page: reload it and try again")


def current() -> AdminSession:
    return g.admin
