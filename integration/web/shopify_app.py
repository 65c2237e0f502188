"""Installing the public Shopify app: the authorization-code grant and, for the embedded app,
token exchange. Like `bootstrap`, an edge that knows the Shopify adapter (its pure auth checks
and its token endpoint calls); the core only sees the saved grant.

- `GET /shopify/install?shop&timestamp&hmac`: verify the query, then send the merchant to
  Shopify's grant screen with a `state` nonce kept in a signed, short-lived cookie.
- `GET /shopify/callback` (also `/shopify/auth/callback`, the path in shopify.app.toml): state,
  hmac, timestamp and shop checks, code → expiring offline token, shop saved with encrypted
  credentials, webhooks subscribed, then on to the app inside the Shopify admin.
- `GET /shopify` (the App URL): with a session token (`id_token` query parameter, or
  `Authorization: Bearer`), exchange it for an offline token when the shop has none.
Tokens and secrets are never logged.
"""
from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from adapters.shopify import auth, tokens
from integration.ports import StoreAuthError, StoreWriteError
from integration.runtime import Runtime
from integration.shops import find_shop, install_with_grant

log = logging.getLogger(__name__)
blueprint = Blueprint("shopify_app", __name__, url_prefix="/shopify")

STATE_COOKIE = "shopify_app_state"
STATE_MAX_AGE = 600  # seconds the merchant has on Shopify's grant screen
RETRY_SESSION_HEADER = "X-Shopify-Retry-Invalid-Session-Request"


def _runtime() -> Runtime:
    return current_app.extensions["loyalty"]


def oauth_app(runtime: Runtime) -> tokens.OAuthApp:
    """The adapter's settings-free view of our app credentials (admin_url points tests at a fake)."""
    shopify = runtime.settings.shopify
    return tokens.OAuthApp(shopify.api_key, shopify.api_secret, admin_url=shopify.admin_url, now=runtime.clock)


def _secrets(runtime: Runtime) -> tuple[str, ...]:
    return tuple(s for s in runtime.app_secrets.get("shopify", ()) if s)


def _now(runtime: Runtime) -> float:
    return runtime.clock().timestamp()


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain", headers=headers or {})


def _state_serializer(runtime: Runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.settings.server.secret_key, salt="loyalty-bridge/shopify-oauth-state")


def _configured(runtime: Runtime) -> bool:
    return bool(runtime.settings.shopify.api_key and runtime.settings.shopify.api_secret)


@blueprint.before_request
def _require_configuration():  # type: ignore[no-untyped-def]
    if not _configured(_runtime()):
        return _text(503, "the Shopify app is not configured: set shopify.api_key and shopify.api_secret")
    return None


@blueprint.get("/install")
def install():  # type: ignore[no-untyped-def]
    runtime = _runtime()
    if not auth.verify_query_hmac(list(request.args.items(multi=True)), _secrets(runtime), now=_now(runtime)):
        log.warning("shopify install: bad or stale hmac for shop %r", request.args.get("shop"))
        return _text(401, "invalid or expired install request: start again from Shopify")
    shop = auth.sanitize_shop_domain(request.args.get("shop"))
    if shop is None:
        return _text(400, "not a myshopify.com shop domain")
    return _begin_oauth(runtime, shop)


def _begin_oauth(runtime: Runtime, shop: str) -> Response:
    state = auth.new_state()
    base_url = runtime.settings.server.base_url.rstrip("/")
    scopes = [s.strip() for s in runtime.settings.shopify.scopes.split(",") if s.strip()]
    url = auth.install_url(shop, runtime.settings.shopify.api_key, f"{base_url}/shopify/callback", state, scopes)
    response = redirect(url, 302)
    response.set_cookie(STATE_COOKIE, _state_serializer(runtime).dumps({"state": state, "shop": shop}),
                        max_age=STATE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=base_url.startswith("https://"), path="/shopify")
    return response


@blueprint.get("/callback")
@blueprint.get("/auth/callback")
def callback():  # type: ignore[no-untyped-def]
    runtime = _runtime()
    try:
        saved = _state_serializer(runtime).loads(request.cookies.get(STATE_COOKIE, ""), max_age=STATE_MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return _text(400, "the install session expired or was not started here: start again from Shopify")
    try:
        granted = auth.check_callback(list(request.args.items(multi=True)), _secrets(runtime), saved["state"],
                                      now=_now(runtime))
    except auth.InstallError as error:
        log.warning("shopify callback rejected: %s", error)
        return _text(403, f"install request rejected: {error}")
    if granted.shop != saved.get("shop"):
        return _text(403, "install request rejected: the callback names another shop")
    try:
        grant = tokens.exchange_code(oauth_app(runtime), granted.shop, granted.code)
    except StoreAuthError as error:  # a spent or expired code: a replayed callback, or a slow one
        log.warning("shopify %s: code refused: %s", granted.shop, error)
        return _text(400, "this install link was already used or has expired: start again from Shopify")
    except StoreWriteError as error:
        log.warning("shopify %s: code exchange failed: %s", granted.shop, error)
        return _text(502, "Shopify did not grant access; please try installing again")
    _install(runtime, granted.shop, grant)
    response = redirect(embedded_app_url(runtime.settings.shopify.api_key, granted.shop, granted.host), 302)
    response.delete_cookie(STATE_COOKIE, path="/shopify")
    return response


@blueprint.get("")
@blueprint.get("/")
def home():  # type: ignore[no-untyped-def]
    """The App URL. Embedded loads carry a session token; a plain signed load starts OAuth."""
    runtime = _runtime()
    token = _session_token()
    if token:
        try:
            session = auth.decode_session_token(token, runtime.settings.shopify.api_key, _secrets(runtime),
                                                now=_now(runtime))
        except auth.InstallError as error:
            log.info("shopify session token rejected: %s", error)
            return _text(401, "invalid session token", {RETRY_SESSION_HEADER: "1"})
        try:
            _ensure_installed(runtime, session)
        except StoreWriteError as error:
            log.warning("shopify %s: token exchange failed: %s", session.shop, error)
            return _text(502, "Shopify did not grant access; reload the app to try again")
        return redirect("/admin?" + request.query_string.decode(), 302)  # the merchant pages, same token
    if request.args.get("hmac"):
        return install()
    return _text(400, "open loyalty-bridge from your Shopify admin")


def _session_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("id_token") or None


def _ensure_installed(runtime: Runtime, session: auth.SessionToken) -> int:
    """Token exchange unless the shop already holds a working offline token."""
    with runtime.db.read() as conn:
        shop = find_shop(conn, "shopify", session.shop)
    if shop is not None and shop.status == "active" and shop.credentials:
        return int(shop.id)
    grant = tokens.exchange_session_token(oauth_app(runtime), session.shop, session.token)
    return _install(runtime, session.shop, grant)


def _install(runtime: Runtime, shop: str, grant: tokens.TokenSet) -> int:
    """Save the shop and its grant (one transaction), then create its webhook subscriptions."""
    with runtime.db.write() as conn:
        shop_id = install_with_grant(conn, runtime.box, platform="shopify", domain=shop, grant=grant,
                                     now=runtime.clock())
    wanted = {s.strip() for s in runtime.settings.shopify.scopes.split(",") if s.strip()}
    missing = wanted - {s.strip() for s in grant.scope.split(",")}
    if missing:
        log.warning("shopify %s: installed without scopes %s", shop, ", ".join(sorted(missing)))
    log.info("shopify %s installed as shop %s (token expires %s)", shop, shop_id,
             grant.expires_at.isoformat() if grant.expires_at else "never")
    subscribe_webhooks(runtime, shop_id)
    return shop_id


def subscribe_webhooks(runtime: Runtime, shop_id: int) -> dict[str, str]:
    """Create the shop's webhook subscriptions to `{server.base_url}/webhooks/shopify`; a failure
    is logged, not fatal: the TOML subscriptions and reconciliation still cover the shop."""
    platform: Any = runtime.platforms.get("shopify")
    subscribe = getattr(platform, "subscribe_webhooks", None)
    if subscribe is None:
        return {}
    callback_url = runtime.settings.server.base_url.rstrip("/") + "/webhooks/shopify"
    try:
        with runtime.db.read() as conn:
            access = runtime.access(conn, shop_id)
        result: dict[str, str] = subscribe(access, callback_url)
    except StoreWriteError as error:
        log.warning("shop %s: webhook subscriptions not created: %s", shop_id, error)
        return {}
    log.info("shop %s: webhooks %s", shop_id, ", ".join(f"{t} {s}" for t, s in result.items()))
    return result


def embedded_app_url(api_key: str, shop: str, host: str | None) -> str:
    """Where Shopify shows the app: the admin host from the (base64) `host` parameter when it is
    Shopify's, else the shop's own admin. Anything else would be an open redirect."""
    decoded = _decode_host(host) if host else None
    if decoded:
        hostname = decoded.split("/", 1)[0]
        if hostname == "admin.shopify.com" or auth.sanitize_shop_domain(hostname) == hostname:
            return f"https://{decoded}/apps/{api_key}"
    return f"https://{shop}/admin/apps/{api_key}"


def _decode_host(host: str) -> str | None:
    padded = host + "=" * (-len(host) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            return decode(padded).decode("ascii").strip().strip("/") or None
        except (binascii.Error, ValueError):
            continue
    return None
