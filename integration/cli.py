"""`loyalty`: the operator's command line (click, which Flask already brings)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import signal
import sys
import threading
import uuid
from pathlib import Path

import click

from integration.config import ConfigError, load_settings
from integration.runtime import Runtime


class Context:
    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            from integration.web.bootstrap import build_runtime
            try:
                settings = load_settings(self.config_path)
            except ConfigError as error:
                raise click.ClickException(str(error)) from None
            self._runtime = build_runtime(settings)
        return self._runtime


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option("--config", "config_path", envvar="LOYALTY_CONFIG", help="Path to config.toml.")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """loyalty-bridge: points, tiers and rewards for Shopify and WooCommerce stores."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(config_path)


def _shop_id(runtime: Runtime, shop: str) -> int:
    """A shop named by its id or its domain."""
    from sqlalchemy import select

    from integration.db.tables import shops
    with runtime.db.read() as conn:
        column = shops.c.id if shop.isdigit() else shops.c.domain
        row = conn.execute(select(shops.c.id).where(column == (int(shop) if shop.isdigit() else shop))).first()
    if row is None:
        raise click.ClickException(f"no shop {shop!r} (see `loyalty shop list`)")
    return row.id


@main.command()
@click.option("--host")
@click.option("--port", type=int)
@pass_context
def serve(obj: Context, host: str | None, port: int | None) -> None:
    """Web, webhook ingest and (unless disabled) the worker, in one process."""
    from werkzeug.serving import run_simple

    from integration.web.bootstrap import create_app, start_background
    runtime = obj.runtime
    stop = threading.Event()
    if runtime.settings.server.worker_thread:
        start_background(runtime, stop)
    app = create_app(runtime)
    try:
        run_simple(host or runtime.settings.server.host, port or runtime.settings.server.port, app,
                   threaded=True, use_reloader=False)
    finally:
        stop.set()


@main.command()
@click.option("--lease", type=float, default=120.0, help="Seconds before a claimed event whose worker died is retried.")
@pass_context
def worker(obj: Context, lease: float) -> None:
    """Drain the webhook inbox and deliver store writes until stopped (SIGTERM/SIGINT)."""
    from webhooks.worker import run_worker
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_worker(obj.runtime, stop, lease_seconds=lease)
    except KeyboardInterrupt:
        stop.set()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(obj: Context) -> None:
    """Create or migrate the schema to the newest version."""
    from integration.db.migrate import upgrade
    upgrade(obj.runtime.db)
    click.echo("database is up to date")


@main.group()
def shop() -> None:
    """Installed shops."""


@shop.command("list")
@pass_context
def shop_list(obj: Context) -> None:
    from sqlalchemy import select

    from integration.db.tables import shops
    with obj.runtime.db.read() as conn:
        rows = conn.execute(select(shops).order_by(shops.c.id)).fetchall()
    if not rows:
        click.echo("no shops yet: add one with `loyalty shop add shopify|woocommerce …`")
    for row in rows:
        click.echo(f"{row.id}\t{row.platform}\t{row.domain}\t{row.status}\t{row.currency}")


@shop.group("add")
def shop_add() -> None:
    """Connect a store."""


@shop_add.command("shopify")
@click.option("--domain", required=True, help="x.myshopify.com")
@click.option("--access-token", required=True, help="Admin API access token of the custom app.")
@click.option("--api-secret", required=True, help="The custom app's API secret (signs its webhooks).")
@click.option("--currency", default="USD")
@pass_context
def shop_add_shopify(obj: Context, domain: str, access_token: str, api_secret: str, currency: str) -> None:
    """A Shopify custom app for one store."""
    from integration.shops import add_shop
    runtime = obj.runtime
    with runtime.db.write() as conn:
        shop_id = add_shop(conn, runtime.box, platform="shopify", domain=domain.strip().lower(),
                           now=runtime.clock(), credentials={"access_token": access_token},
                           webhook_secret=api_secret, currency=currency)
    click.echo(f"shop {shop_id} added: {domain}")


@shop_add.command("woocommerce")
@click.option("--url", "store_url", required=True, help="https://store.example")
@click.option("--consumer-key", required=True)
@click.option("--consumer-secret", required=True)
@click.option("--currency", default="USD")
@pass_context
def shop_add_woocommerce(obj: Context, store_url: str, consumer_key: str, consumer_secret: str, currency: str) -> None:
    """A WooCommerce store with pasted REST API keys."""
    import secrets

    from integration.shops import add_shop
    runtime = obj.runtime
    with runtime.db.write() as conn:
        shop_id = add_shop(conn, runtime.box, platform="woocommerce", domain=store_url.rstrip("/"),
                           now=runtime.clock(), webhook_secret=secrets.token_urlsafe(32), currency=currency,
                           credentials={"consumer_key": consumer_key, "consumer_secret": consumer_secret})
    click.echo(f"shop {shop_id} added: {store_url}")


@main.group("api-key")
def api_key() -> None:
    """JSON API keys."""


@api_key.command("create")
@click.option("--shop", "shop_name", required=True, help="Shop id or domain.")
@click.option("--label", default="")
@pass_context
def api_key_create(obj: Context, shop_name: str, label: str) -> None:
    """Print a new key (on its own last line); only its hash is kept."""
    from integration.shops import create_api_key
    runtime = obj.runtime
    shop_id = _shop_id(runtime, shop_name)
    with runtime.db.write() as conn:
        key = create_api_key(conn, shop_id, runtime.clock(), label)
    click.echo(f"API key for shop {shop_id} (shown once):")
    click.echo(key)


@main.group()
def events() -> None:
    """Stored webhook events."""


@events.command("list")
@click.option("--failed", is_flag=True, help="Only failed events.")
@click.option("--shop", "shop_name")
@click.option("--limit", default=50)
@pass_context
def events_list(obj: Context, failed: bool, shop_name: str | None, limit: int) -> None:
    from sqlalchemy import select

    from integration.db.tables import inbox
    statement = select(inbox.c.id, inbox.c.shop_id, inbox.c.topic, inbox.c.status, inbox.c.attempts,
                       inbox.c.error, inbox.c.received_at).order_by(inbox.c.id.desc()).limit(limit)
    if failed:
        statement = statement.where(inbox.c.status == "failed")
    if shop_name:
        statement = statement.where(inbox.c.shop_id == _shop_id(obj.runtime, shop_name))
    with obj.runtime.db.read() as conn:
        for row in conn.execute(statement):
            click.echo(f"{row.id}\tshop {row.shop_id}\t{row.topic}\t{row.status}\t"
                       f"attempts {row.attempts}\t{row.error or ''}")


@events.command("replay")
@click.argument("event_id", required=False, type=int)
@click.option("--failed", is_flag=True, help="Replay every failed event.")
@pass_context
def events_replay(obj: Context, event_id: int | None, failed: bool) -> None:
    """Queue an event (or every failed one) again; effects are idempotent."""
    from integration.replay import replay, replay_failed
    runtime = obj.runtime
    if failed:
        click.echo(f"{replay_failed(runtime.db, runtime.clock())} events queued again")
    elif event_id is not None:
        if not replay(runtime.db, event_id, runtime.clock()):
            raise click.ClickException(f"no event {event_id} (or it is already pending)")
        click.echo(f"event {event_id} queued again")
    else:
        raise click.UsageError("give an event id or --failed")


@main.group()
def webhook() -> None:
    """Try things out."""


@webhook.command("send")
@click.option("--platform", type=click.Choice(["shopify", "woocommerce"]), default="shopify")
@click.option("--topic", required=True, help="e.g. orders/paid (Shopify) or order.updated (WooCommerce)")
@click.option("--shop", "shop_name", required=True, help="Shop domain (Shopify) or id (WooCommerce).")
@click.option("--secret", help="Signing secret (default: from config or the shop).")
@click.option("--url", "base_url", help="Service base URL (default: server.base_url).")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def webhook_send(obj: Context, platform: str, topic: str, shop_name: str, secret: str | None,
                 base_url: str | None, payload: Path) -> None:
    """Sign PAYLOAD as the platform would and POST it to a running service."""
    import requests
    runtime = obj.runtime
    body = payload.read_bytes()
    secret = secret or _signing_secret(runtime, platform, shop_name)
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    base = (base_url or runtime.settings.server.base_url).rstrip("/")
    if platform == "shopify":
        url = f"{base}/webhooks/shopify"
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature,
                   "X-Shopify-Shop-Domain": shop_name, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                   "X-Shopify-API-Version": runtime.settings.shopify.api_version}
    else:
        url = f"{base}/webhooks/woocommerce/{_shop_id(runtime, shop_name)}"
        resource, _, event = topic.partition(".")
        headers = {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": signature,
                   "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
                   "X-WC-Webhook-Delivery-ID": str(uuid.uuid4().int % 10**9), "X-WC-Webhook-ID": "1"}
    response = requests.post(url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=10)
    click.echo(f"{response.status_code} {response.text.strip()}")
    if response.status_code >= 400:
        sys.exit(1)


def _signing_secret(runtime: Runtime, platform: str, shop_name: str) -> str:
    from integration.db import repo
    from integration.shops import webhook_secrets
    with runtime.db.read() as conn:
        shop = repo.shop_row(conn, _shop_id(runtime, shop_name))
    found = webhook_secrets(runtime.box, shop, runtime.app_secrets.get(platform, ()))
    if not found:
        raise click.ClickException("no signing secret: pass --secret")
    return found[0]


if __name__ == "__main__":  # pragma: no cover
    main()
