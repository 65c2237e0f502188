"""`loyalty`: the operator's command line (click, which Flask already brings)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import click

from integration.config import ConfigError, load_settings
from integration.runtime import Runtime


class Context:
    def __init__(self, config_path: str | None, log_format: str | None = None, level: int = logging.INFO):
        self.config_path = config_path
        self.log_format, self.level = log_format, level
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            from integration.web.bootstrap import build_runtime
            try:
                settings = load_settings(self.config_path)
            except ConfigError as error:
                raise click.ClickException(str(error)) from None
            if self.log_format is None and settings.server.log_format != "text":
                from integration.logs import setup_logging
                setup_logging(self.level, settings.server.log_format, if_unconfigured=True)  # server.log_format
            self._runtime = build_runtime(settings)
        return self._runtime

    def close(self) -> None:
        """Close the database pool when the command ends (PostgreSQL connections would linger)."""
        if self._runtime is not None:
            self._runtime.db.dispose()
            self._runtime = None


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option("--config", "config_path", envvar="LOYALTY_CONFIG", help="Path to config.toml.")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.option("--log-format", type=click.Choice(["text", "json"]),
              help="Log lines as text or JSON objects (default: server.log_format). Secrets are redacted in both.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool, log_format: str | None) -> None:
    """loyalty-bridge: points, tiers and rewards for Shopify and WooCommerce stores."""
    from integration.logs import setup_logging
    level = logging.DEBUG if verbose else logging.INFO
    setup_logging(level, log_format or "text", if_unconfigured=True)
    ctx.obj = Context(config_path, log_format, level)
    ctx.call_on_close(ctx.obj.close)


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
@click.option("--subscribe/--no-subscribe", default=True,
              help="Create the webhook subscriptions in the store (default) or skip it.")
@pass_context
def shop_add_shopify(obj: Context, domain: str, access_token: str, api_secret: str, currency: str,
                     subscribe: bool) -> None:
    """A Shopify custom app for one store. The token and secret are stored encrypted, never printed."""
    from adapters.shopify.auth import sanitize_shop_domain
    from integration.shops import add_shop
    from integration.web.shopify_app import subscribe_webhooks
    shop_domain = sanitize_shop_domain(domain)
    if shop_domain is None:
        raise click.BadParameter(f"{domain!r} is not a shop domain such as my-store.myshopify.com",
                                 param_hint="--domain")
    runtime = obj.runtime
    with runtime.db.write() as conn:
        shop_id = add_shop(conn, runtime.box, platform="shopify", domain=shop_domain,
                           now=runtime.clock(), credentials={"access_token": access_token},
                           webhook_secret=api_secret, currency=currency)
    click.echo(f"shop {shop_id} added: {shop_domain}")
    if not subscribe:
        return
    created = subscribe_webhooks(runtime, shop_id)
    if not created:
        raise click.ClickException("the webhook subscriptions could not be created (see the log above); "
                                   "fix the token's scopes or server.base_url and run this again")
    address = runtime.settings.server.base_url.rstrip("/") + "/webhooks/shopify"
    click.echo(f"webhooks to {address}:")
    for topic, outcome in created.items():
        click.echo(f"  {topic}\t{outcome}")


@shop_add.command("woocommerce")
@click.option("--url", "store_url", required=True, help="https://store.example")
@click.option("--consumer-key", required=True)
@click.option("--consumer-secret", required=True)
@click.option("--currency", help="The store's currency (default: USD, or unchanged when reconnecting).")
@click.option("--no-webhooks", is_flag=True,
              help="Save the keys without checking them and without creating webhooks (store not reachable yet).")
@pass_context
def shop_add_woocommerce(obj: Context, store_url: str, consumer_key: str, consumer_secret: str,
                         currency: str | None, no_webhooks: bool) -> None:
    """A WooCommerce store with pasted REST API keys (Read/Write): the keys are checked, saved
    encrypted, and our webhooks are created at server.base_url (the server must be reachable)."""
    from integration.ports import StoreWriteError
    from integration.web.woocommerce_app import connect_store
    runtime = obj.runtime
    try:
        connected = connect_store(runtime, store_url, consumer_key, consumer_secret, webhooks=not no_webhooks,
                                  currency=currency)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except StoreWriteError as error:
        raise click.ClickException(f"the keys were not saved: {error}") from None
    click.echo(f"shop {connected.shop_id} added: {connected.store_url}")
    if connected.webhook_ids:
        click.echo(f"webhooks: {', '.join(connected.webhook_ids)}")
    if connected.webhook_problem:
        click.echo(f"warning: the webhooks could not be created ({connected.webhook_problem}); orders are still "
                   f"found by `loyalty jobs run reconcile`, and `loyalty jobs run repair-webhooks --shop "
                   f"{connected.shop_id}` tries again", err=True)


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
def jobs() -> None:
    """Recurring jobs, run once by hand (the scheduler runs them on its own)."""


@jobs.group("run")
def jobs_run() -> None:
    """Run one job now."""


@jobs_run.command("reconcile")
@click.option("--shop", "shop_name", help="Shop id or domain (default: every active shop).")
@click.option("--now", "now_text", help="ISO time to run as (default: the clock).")
@pass_context
def jobs_run_reconcile(obj: Context, shop_name: str | None, now_text: str | None) -> None:
    """Read back orders changed in the store since the last run and apply what webhooks missed."""
    from sqlalchemy import select

    from integration.db.tables import shops
    from integration.ports import StoreWriteError
    from scheduler.reconcile import reconcile_shop
    runtime = obj.runtime
    now = _now(runtime, now_text)
    if shop_name:
        shop_ids = [_shop_id(runtime, shop_name)]
    else:
        with runtime.db.read() as conn:
            shop_ids = list(conn.execute(select(shops.c.id).where(shops.c.status == "active").order_by(shops.c.id)).scalars())
    failures = 0
    for shop_id in shop_ids:
        try:
            result = reconcile_shop(runtime, shop_id, now)
        except StoreWriteError as error:
            failures += 1
            click.echo(f"shop {shop_id}: store unreachable or refused: {error}", err=True)
            continue
        click.echo(f"shop {shop_id}: {result.orders_seen} orders seen, {result.events_applied} events applied"
                   + (f", {result.orders_failed} failed" if result.orders_failed else ""))
    if failures:
        sys.exit(1)


@jobs_run.command("repair-webhooks")
@click.option("--shop", "shop_name", help="Shop id or domain (default: every active WooCommerce shop).")
@pass_context
def jobs_run_repair_webhooks(obj: Context, shop_name: str | None) -> None:
    """Re-create WooCommerce webhooks the store disabled or lost; the merchant gets a notice."""
    from scheduler.woocommerce_repair import repair_all, repair_shop_webhooks
    runtime = obj.runtime
    now = runtime.clock()
    results = [repair_shop_webhooks(runtime, _shop_id(runtime, shop_name), now)] if shop_name else repair_all(runtime, now)
    for result in results:
        if result.problem or result.skipped:
            click.echo(f"shop {result.shop_id}: not checked: {result.problem or result.skipped}", err=True)
        else:
            changed = ", ".join(f"{topic} {action}" for topic, action, _ in result.changes)
            click.echo(f"shop {result.shop_id}: {changed or 'all webhooks active'}")
    if any(result.problem or result.skipped for result in results):
        sys.exit(1)


def _now(runtime: Runtime, now_text: str | None):  # type: ignore[no-untyped-def]
    """`--now ISO-TIME` (UTC unless it says otherwise), or the clock."""
    from datetime import datetime, timezone
    try:
        now = datetime.fromisoformat(now_text) if now_text else runtime.clock()
    except ValueError:
        raise click.BadParameter(f"{now_text!r} is not an ISO time", param_hint="--now") from None
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def _job_command(name: str, summary: str) -> None:
    """`loyalty jobs run NAME [--shop S] [--now ISO-TIME]` for one of scheduler.jobs.JOBS."""

    @jobs_run.command(name, help=summary)
    @click.option("--shop", "shop_name", help="Shop id or domain (default: every active shop).")
    @click.option("--now", "now_text", help="ISO time to run as (default: the clock), for time travel.")
    @pass_context
    def command(obj: Context, shop_name: str | None, now_text: str | None) -> None:
        from scheduler.service import run_job
        runtime = obj.runtime
        for result in run_job(runtime, name, _now(runtime, now_text), _shop_id(runtime, shop_name) if shop_name else None):
            click.echo(str(result))


for _name, _summary in (
    ("expire-points", "Expire points past their lot's date (FIFO) and warn before."),
    ("expire-codes", "Close reward codes past their end; return points if the program says so."),
    ("memberships", "Remind before paid memberships end; end them after the grace days."),
    ("tiers", "Keep or lower tiers whose qualification window has ended; warn before."),
    ("birthdays", "Give today's birthday rewards (shop timezone), once a year."),
    ("reminders", "Send the points reminder to members whose last one is N days old."),
    ("referrals", "Credit referral rewards whose pending period is over."),
    ("outbox", "Deliver store writes that are due."),
):
    _job_command(_name, _summary)


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


@main.command("scheduler")
@pass_context
def scheduler_command(obj: Context) -> None:
    """Run the recurring jobs; with several processes on PostgreSQL exactly one leads."""
    from scheduler.service import run_scheduler
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_scheduler(obj.runtime, stop, retry_seconds=obj.runtime.settings.scheduler.leader_retry_seconds)
    except KeyboardInterrupt:
        stop.set()


@main.group()
def member() -> None:
    """Members of a shop."""


@member.command("link")
@click.option("--shop", "shop_name", required=True, help="Shop id or domain.")
@click.option("--email", required=True, help="The member's email address.")
@pass_context
def member_link(obj: Context, shop_name: str, email: str) -> None:
    """Print the signed link to a member's portal page (valid 90 days), one per matching member."""
    from integration.links import portal_url
    from integration.views import find_members
    runtime = obj.runtime
    shop_id = _shop_id(runtime, shop_name)
    with runtime.db.read() as conn:
        found = find_members(conn, shop_id, email=email)
    if not found:
        raise click.ClickException(f"no member with email {email!r} in shop {shop_name!r}")
    server = runtime.settings.server
    for member_id in found:
        click.echo(portal_url(server.base_url, server.secret_key, shop_id, member_id, runtime.clock()))



@main.command()
@click.option("--offline", is_flag=True, help="Do not call the stores (check configuration and database only).")
@pass_context
def doctor(obj: Context, offline: bool) -> None:
    """Check this deployment: configuration, database, stores, webhooks, queues. Exit 1 on problems."""
    from integration.doctor import examine, has_problems
    try:
        runtime = obj.runtime
    except ValueError as error:  # e.g. server.encryption_key is not a Fernet key
        raise click.ClickException(f"the configuration cannot be used: {error}") from None
    findings = examine(runtime, offline=offline)
    for finding in findings:
        click.echo(str(finding))
    problems = sum(finding.level == "problem" for finding in findings)
    click.echo(f"{problems} problem(s), {sum(f.level == 'warning' for f in findings)} warning(s)")
    if has_problems(findings):
        sys.exit(1)


@main.group()
def keys() -> None:
    """Encryption keys of stored secrets."""


@keys.command("rotate")
@pass_context
def keys_rotate(obj: Context) -> None:
    """Re-encrypt every stored secret under the newest server.encryption_key (the first in the
    list). Then the old keys can be removed from the list. Safe to run again."""
    from cryptography.fernet import InvalidToken
    from sqlalchemy import select, update

    from integration.db import locked
    from integration.db.tables import shops
    runtime = obj.runtime
    rotated = 0
    with runtime.db.write() as conn:
        rows = conn.execute(locked(conn, select(shops.c.id, shops.c.credentials, shops.c.webhook_secret))).fetchall()
        for row in rows:
            try:
                values = {"credentials": runtime.box.rotate(row.credentials or ""),
                          "webhook_secret": runtime.box.rotate(row.webhook_secret or "")}
            except InvalidToken:  # no configured key opens it
                raise click.ClickException(f"shop {row.id}: its secrets cannot be decrypted with any configured key; "
                                           "nothing was changed (add the old key after the new one)") from None
            conn.execute(update(shops).where(shops.c.id == row.id).values(**values))
            rotated += 1
    click.echo(f"{rotated} shop(s) re-encrypted under the newest key; older keys may now be removed")


def _progress_bar(label: str) -> Callable[[int, int], None]:
    """A progress bar on stderr (stdout stays clean for the figures)."""
    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        click.echo(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", err=True, nl=False)
        if done >= total:
            click.echo("", err=True)
    return show


@main.command("admin-link")
@click.option("--shop", "shop_name", required=True, help="Shop id or domain.")
@pass_context
def admin_link(obj: Context, shop_name: str) -> None:
    """Print a one-time sign-in link to the shop's settings page (valid 15 minutes, once)."""
    from integration.web.admin_auth import create_login_link
    runtime = obj.runtime
    shop_id = _shop_id(runtime, shop_name)
    with runtime.db.write() as conn:
        link = create_login_link(conn, shop_id, runtime.settings.server.base_url, runtime.clock())
    click.echo(link)


@main.command()
@click.option("--shop", "shop_name", required=True, help="Shop id or domain.")
@click.option("--orders", "orders_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of orders (customer_id, paid_at, eligible[, total, refunded]); default: the shop's recorded orders.")
@click.option("--program", "program_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The proposed program as TOML (the JSON form's keys; [[rewards]], [[tiers]] …).")
@pass_context
def simulate(obj: Context, shop_name: str, orders_file: Path | None, program_file: Path) -> None:
    """Replay order history under the current and the proposed program and print both."""
    import time
    import tomllib
    from dataclasses import replace

    from integration.db import repo
    from integration.program import ProgramError, program_from_dict, validate
    from integration.simulator import compare, figure_rows, load_orders, read_orders_csv
    runtime = obj.runtime
    shop_id = _shop_id(runtime, shop_name)
    try:
        proposed = program_from_dict(tomllib.loads(program_file.read_text()))
    except (tomllib.TOMLDecodeError, ProgramError) as error:
        raise click.ClickException(f"{program_file}: {error}") from None
    problems = validate(replace(proposed, version=max(proposed.version, 1)))
    if problems:
        raise click.ClickException("the program has problems:\n" + "\n".join(f"  {p.field or 'program'}: {p.message}"
                                                                            for p in problems))
    with runtime.db.read() as conn:
        current = repo.current_program(conn, shop_id)
        currency = repo.shop_row(conn, shop_id).currency
        if orders_file is None:
            history = load_orders(conn, shop_id)
    if orders_file is not None:
        try:
            with orders_file.open(newline="", encoding="utf-8-sig") as stream:
                history = read_orders_csv(stream)
        except ValueError as error:
            raise click.ClickException(f"{orders_file}: {error}") from None
    started = time.perf_counter()
    before, after = compare(current, proposed, history, runtime.clock(), progress=_progress_bar("simulating"))
    elapsed = time.perf_counter() - started
    rows = figure_rows(before, after, currency)
    width = max(len(label) for label, _, _ in rows)
    click.echo(f"{'':{width}}  {'current (v' + str(current.version) + ')':>22}  {'proposed':>22}")
    for label, old, new in rows:
        click.echo(f"{label:{width}}  {old:>22}  {new:>22}")
    click.echo(f"({len(history):,} orders replayed twice in {elapsed:.2f} s)", err=True)


@main.group("import")
def import_group() -> None:
    """Bring data in from elsewhere."""


@import_group.command("members")
@click.option("--shop", "shop_name", required=True, help="Shop id or domain.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--batch-size", default=2000, show_default=True, help="Rows per transaction.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_members_command(obj: Context, shop_name: str, dry_run: bool, batch_size: int, csv_file: Path) -> None:
    """Members from another loyalty app: customer_id/email, balance, tier. Re-running changes nothing."""
    from integration.importer import run_import
    runtime = obj.runtime
    shop_id = _shop_id(runtime, shop_name)
    try:
        run_id, report = run_import(runtime.db, shop_id, csv_file.read_bytes(), csv_file.name, runtime.clock(),
                                    dry_run=dry_run, batch_size=batch_size,
                                    progress=_progress_bar("dry run" if dry_run else "importing"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_file} is not UTF-8 text") from None
    for line, message in report.problems[:20]:
        click.echo(f"line {line}: {message}", err=True)
    if len(report.problems) > 20:
        click.echo(f"… and {len(report.problems) - 20} more problems", err=True)
    click.echo(f"import {run_id}{' (dry run)' if dry_run else ''}: {report.summary()}")


if __name__ == "__main__":  # pragma: no cover
    main()
