"""Connecting a WooCommerce store. Like `bootstrap` and `shopify_app`, an edge that knows its
adapter (the `/wc-auth` helpers); the core only sees the saved shop.

- `GET /woocommerce/connect?store_url=…`: normalise the URL and send the merchant to the store's
  `/wc-auth/v1/authorize`, with our state in `user_id`: a token signed with `server.secret_key`
  that names the store URL and expires after `STATE_MAX_AGE` (the callback names no store).
- `POST /woocommerce/callback`: WooCommerce POSTs the new keys. We bind them to the store by the
  state, check them with a GET, save them encrypted with a fresh webhook secret, and create our
  webhooks. The answer is a contract: WooCommerce deletes the key unless it gets exactly 200. So
  200 means "we hold working keys" — even when creating the webhooks failed afterwards (logged,
  shown to the merchant as a notice, retried by the repair job; polling covers the gap). Keys we
  cannot use (unknown or expired state, refused by the store, store unreachable, not stored)
  get a 4xx/5xx, so no orphan key is left in the store and the merchant sees WooCommerce's error.
- `GET /woocommerce/return?success=…&user_id=<state>`: a plain page saying how it went.

`connect_store` is the same use case for keys pasted on the command line. Keys are never logged.
"""
from __future__ import annotations

import html
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, current_app, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import SQLAlchemyError

from adapters.woocommerce import auth
from adapters.woocommerce.client import normalize_store_url
from integration.notices import add_notice, list_notices
from integration.ports import PayloadError, StoreAuthError, StoreWriteError
from integration.runtime import Runtime
from integration.shops import add_shop, find_shop

log = logging.getLogger(__name__)
blueprint = Blueprint("woocommerce_app", __name__, url_prefix="/woocommerce")

PLATFORM = "woocommerce"
STATE_MAX_AGE = 3600  # seconds from "connect" to WooCommerce's callback (login + approve)
RETURN_MAX_AGE = 24 * 3600  # the return page may be reloaded later


@dataclass(frozen=True, slots=True)
class Connected:
    shop_id: int
    store_url: str
    webhook_ids: tuple[str, ...] = ()
    webhook_problem: str | None = None  # why the webhooks could not be created, if they could not


def store_url_key(url: str) -> str:
    """The store URL as we key shops by it: scheme and host lower-cased, no trailing slash, no
    query; a sub-folder install keeps its path. Raises ValueError for what is not a URL."""
    parts = urlsplit(normalize_store_url(url))
    if not parts.hostname or parts.username or parts.password:
        raise ValueError(f"not a store URL: {url}")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def delivery_url(runtime: Runtime, shop_id: int) -> str:
    return f"{runtime.settings.server.base_url.rstrip('/')}/webhooks/{PLATFORM}/{shop_id}"


def current_webhook_secret(runtime: Runtime, shop: Any) -> str:
    """The secret new webhooks get: the first of the shop's secrets (the rest are previous ones)."""
    lines = [line for line in runtime.box.decrypt(shop.webhook_secret).splitlines() if line] if shop else []
    return lines[0] if lines else ""


def connect_store(runtime: Runtime, store_url: str, consumer_key: str, consumer_secret: str, *,
                  webhooks: bool = True, currency: str | None = None) -> Connected:
    """Check the keys, save the shop (keys encrypted), create our webhooks.

    Raises StoreAuthError (keys refused) or StoreWriteError (store unreachable) before anything is
    saved. A failure to create the webhooks does not undo the connection: it is logged and left
    as a notice, and `Connected.webhook_problem` says why. With `webhooks=False` nothing is
    checked or created (keys pasted for a store we cannot reach yet). `currency` None keeps a
    reconnected shop's currency (USD for a new one)."""
    url = store_url_key(store_url)
    if webhooks:
        auth.check_keys(url, consumer_key, consumer_secret, timeout=runtime.settings.woocommerce.timeout_seconds,
                        verify_tls=runtime.settings.woocommerce.verify_tls)
    shop_id = _save_keys(runtime, url, consumer_key, consumer_secret, rotate_secret=webhooks, currency=currency)
    if not webhooks:
        return Connected(shop_id, url)
    return create_webhooks(runtime, shop_id, url)


def _save_keys(runtime: Runtime, url: str, consumer_key: str, consumer_secret: str, *, rotate_secret: bool,
               currency: str | None) -> int:
    """A fresh random webhook secret when webhooks are (re)created; the one before stays accepted
    (second line) for deliveries already on their way. Without rotation the secret is kept."""
    with runtime.db.write() as conn:
        shop = find_shop(conn, PLATFORM, url)
        previous = current_webhook_secret(runtime, shop)
        secret = previous
        if rotate_secret or not previous:
            secret = "\n".join(s for s in (secrets.token_hex(24), previous) if s)
        return add_shop(conn, runtime.box, platform=PLATFORM, domain=url, now=runtime.clock(),
                        webhook_secret=secret, currency=currency or (shop.currency if shop else "USD"),
                        credentials={"consumer_key": consumer_key, "consumer_secret": consumer_secret})


def create_webhooks(runtime: Runtime, shop_id: int, url: str) -> Connected:
    """Our webhooks in the store (re-used when they exist); the store pings each one first."""
    with runtime.db.read() as conn:
        access = runtime.access(conn, shop_id)
        secret = current_webhook_secret(runtime, find_shop(conn, PLATFORM, url))
    platform: Any = runtime.platforms[PLATFORM]
    try:
        ids = platform.create_webhooks(access, delivery_url(runtime, shop_id), secret)
    except StoreWriteError as error:
        log.warning("woocommerce shop %s: webhooks could not be created: %s", shop_id, error)
        with runtime.db.write() as conn:
            add_notice(conn, shop_id, "webhooks_failed",
                       f"We could not create our webhooks in your store ({error}). Orders are still picked up "
                       "by the regular order check, only later; we will try the webhooks again.", runtime.clock())
        return Connected(shop_id, url, webhook_problem=str(error))
    log.info("woocommerce shop %s: webhooks %s", shop_id, ", ".join(ids))
    return Connected(shop_id, url, webhook_ids=tuple(ids))


# -- the /wc-auth flow ----------------------------------------------------------------------

def _runtime() -> Runtime:
    return current_app.extensions["loyalty"]


def _states(runtime: Runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.settings.server.secret_key, salt="loyalty-bridge/woocommerce-connect")


def _state_store_url(runtime: Runtime, state: str, max_age: int) -> str | None:
    try:
        data = _states(runtime).loads(state, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    return data.get("store_url") if isinstance(data, dict) and isinstance(data.get("store_url"), str) else None


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def _page(status: int, title: str, *paragraphs: str) -> Response:
    """A plain page; every argument is text, escaped here."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return Response(f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                    f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>", status=status,
                    mimetype="text/html")


@blueprint.get("/connect")
def connect():  # type: ignore[no-untyped-def]
    runtime = _runtime()
    given = request.args.get("store_url", "").strip()
    if not given:
        return Response(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Connect your WooCommerce store</title></head>"
            "<body><h1>Connect your WooCommerce store</h1><form method=\"get\">"
            "<label>Store address <input name=\"store_url\" placeholder=\"https://shop.example\" required></label>"
            "<button>Connect</button></form></body></html>", mimetype="text/html")
    try:
        store_url = store_url_key(given)
    except ValueError:
        return _page(400, "That is not a store address", f"{given!r} is not a web address such as https://shop.example.")
    base = runtime.settings.server.base_url.rstrip("/")
    state = _states(runtime).dumps({"store_url": store_url, "nonce": secrets.token_urlsafe(8)})
    try:
        location = auth.authorize_url(store_url, app_name=runtime.settings.woocommerce.app_name, state=state,
                                      return_url=f"{base}/woocommerce/return",
                                      callback_url=f"{base}/woocommerce/callback")
    except ValueError:
        log.error("woocommerce connect: server.base_url %s is not https; WooCommerce will not send keys to it", base)
        return _page(503, "This service cannot receive WooCommerce keys yet",
                     "WooCommerce sends the keys only to an https address. The operator must set "
                     "server.base_url to the service's public https address.")
    return redirect(location, 302)


@blueprint.post("/callback")
def callback():  # type: ignore[no-untyped-def]
    runtime = _runtime()
    try:
        keys = auth.parse_callback(request.get_data(cache=False))
    except PayloadError as error:
        log.warning("woocommerce callback refused: %s", error)
        return _text(400, "unusable keys")
    store_url = _state_store_url(runtime, keys.state, STATE_MAX_AGE)
    if store_url is None:
        log.warning("woocommerce callback refused: unknown or expired state (key %s)", keys.key_id)
        return _text(400, "unknown or expired connection request: start again")
    try:
        connected = connect_store(runtime, store_url, keys.consumer_key, keys.consumer_secret)
    except StoreAuthError as error:
        log.warning("woocommerce callback for %s: the store refused the keys: %s", store_url, error)
        return _text(400, "the store refused these keys")
    except StoreWriteError as error:
        log.warning("woocommerce callback for %s: the keys could not be checked: %s", store_url, error)
        return _text(502, "the store could not be reached to check the keys")
    except SQLAlchemyError:
        log.exception("woocommerce callback for %s: the keys could not be stored", store_url)
        return _text(503, "the keys could not be stored: try again")
    log.info("woocommerce shop %s connected: %s (key %s)", connected.shop_id, store_url, keys.key_id)
    return _text(200, "connected")


@blueprint.get("/return")
def connect_return():  # type: ignore[no-untyped-def]
    runtime = _runtime()
    store_url = _state_store_url(runtime, request.args.get("user_id", ""), RETURN_MAX_AGE)
    if store_url is None:
        return _page(400, "This link has expired", "Start again from the connect page.")
    again = "/woocommerce/connect?" + urlencode({"store_url": store_url})
    if request.args.get("success") != "1":
        return _page(200, "Your store was not connected",
                     f"Access to {store_url} was not approved, so nothing was connected.",
                     f"To try again, open {again}")
    with runtime.db.read() as conn:
        shop = find_shop(conn, PLATFORM, store_url)
        notices = list_notices(conn, shop.id, unread_only=True, limit=5) if shop is not None else []
    if shop is None or shop.status != "active":
        return _page(502, "Your store was not connected",
                     f"{store_url} approved the connection, but its keys did not reach us or did not work.",
                     f"To try again, open {again}")
    return _page(200, "Your store is connected",
                 f"{store_url} is connected: paid orders now earn points.",
                 *(notice.message for notice in notices))
