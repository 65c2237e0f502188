"""`loyalty doctor`: is this deployment healthy? Each finding in plain words, every one at once.

Checks, in order: the configuration (secrets, public address, encryption key), the database
(reachable, migrated to the newest revision), each active shop (its stored credentials decrypt, a
cheap authenticated call succeeds — skipped with `offline`), its webhooks (WooCommerce: ours exist
and are active; Shopify's adapter cannot list subscriptions, so that is said and skipped), and the
queues (failed or long-waiting events). A problem makes `loyalty doctor` exit 1; a warning does not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.engine import make_url

from integration import metrics
from integration.ports import LoyaltyError, ShopAccess
from integration.runtime import Runtime

PLACEHOLDER_SECRET = "change-me-to-a-long-random-string"
STALE_INBOX_SECONDS = 300  # a worker drains an event in well under a second: five minutes is a stopped worker


@dataclass(frozen=True, slots=True)
class Finding:
    area: str  # "config", "database", "shop 3 (x.myshopify.com)", "queues"
    level: str  # "ok", "warning", "problem"
    message: str

    def __str__(self) -> str:
        mark = {"ok": "ok     ", "warning": "WARNING", "problem": "PROBLEM"}[self.level]
        return f"{mark}  {self.area}: {self.message}"


def examine(runtime: Runtime, *, offline: bool = False) -> list[Finding]:
    findings = check_config(runtime)
    database = check_database(runtime)
    findings += database
    if any(f.level == "problem" for f in database):
        return findings  # nothing below can be read
    findings += check_shops(runtime, offline=offline)
    findings += check_queues(runtime)
    return findings


def check_config(runtime: Runtime) -> list[Finding]:
    server, found = runtime.settings.server, []
    if server.secret_key == PLACEHOLDER_SECRET or len(server.secret_key) < 16:
        found.append(Finding("config", "problem", "server.secret_key is the example's or shorter than 16 characters: "
                             "portal links and sessions could be forged; set a long random string"))
    host = (urlsplit(server.base_url).hostname or "").lower()
    local = host in ("127.0.0.1", "localhost", "::1")
    if server.base_url.startswith("http://") and not local:
        found.append(Finding("config", "problem", f"server.base_url {server.base_url} is plain HTTP: stores send "
                             "webhooks and merchants sign in there; serve it over HTTPS behind a TLS proxy"))
    elif local:
        found.append(Finding("config", "warning", f"server.base_url {server.base_url} is this machine only: "
                             "no store can reach it"))
    if not server.encryption_key:
        found.append(Finding("config", "warning", "server.encryption_key is empty, so tokens are encrypted with a key "
                             "derived from server.secret_key (changing that would lock them); set a Fernet key"))
    if runtime.db.is_sqlite:
        found.append(Finding("config", "warning", "the database is SQLite: fine for one `loyalty serve` process; "
                             "use PostgreSQL to run several web and worker processes"))
    if not found:
        found.append(Finding("config", "ok", "secrets set, public address on HTTPS"))
    return found


def check_database(runtime: Runtime) -> list[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from integration.db.migrate import alembic_config
    where = make_url(runtime.db.url).render_as_string(hide_password=True)
    try:
        with runtime.db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as error:  # noqa: BLE001 - any failure to connect is the finding
        return [Finding("database", "problem", f"cannot reach {where}: {type(error).__name__}: "
                        f"{str(error).splitlines()[0][:200]}")]
    newest = set(ScriptDirectory.from_config(alembic_config(runtime.db.url)).get_heads())
    if current != newest:
        at = ", ".join(sorted(current)) or "an empty schema"
        return [Finding("database", "problem", f"{where} is at {at}, the newest is {', '.join(sorted(newest))}: "
                        "run `loyalty db upgrade`")]
    return [Finding("database", "ok", f"{where} answers and is migrated to {', '.join(sorted(newest))}")]


def check_shops(runtime: Runtime, *, offline: bool) -> list[Finding]:
    from integration.db.tables import shops
    with runtime.db.read() as conn:
        rows = conn.execute(select(shops).order_by(shops.c.id)).fetchall()
    if not rows:
        return [Finding("shops", "warning", "no shop is connected yet (`loyalty shop add …`)")]
    found: list[Finding] = []
    for shop in rows:
        area = f"shop {shop.id} ({shop.domain})"
        if shop.status == "uninstalled":
            found.append(Finding(area, "ok", "uninstalled: not checked"))
            continue
        if shop.status != "active":
            found.append(Finding(area, "problem", f"is {shop.status}: the merchant must open the app again to "
                                 "grant a new token; no store calls are made meanwhile"))
            continue
        found += _check_shop(runtime, shop, area, offline=offline)
    return found


def _check_shop(runtime: Runtime, shop: Any, area: str, *, offline: bool) -> list[Finding]:
    try:
        json.loads(runtime.box.decrypt(shop.credentials) or "{}")
        own_secret = runtime.box.decrypt(shop.webhook_secret)
    except ValueError:
        return [Finding(area, "problem", "its stored credentials cannot be decrypted with server.encryption_key: "
                        "was the key replaced instead of rotated? Put the old key back after the new one "
                        "(comma-separated, newest first) and run `loyalty keys rotate`")]
    if not own_secret and not any(runtime.app_secrets.get(shop.platform, ())):
        return [Finding(area, "problem", f"no webhook signing secret: set {shop.platform}.api_secret, or connect "
                        "the shop again, else every webhook is refused with 401")]
    platform = runtime.platforms.get(shop.platform)
    if platform is None:
        return [Finding(area, "problem", f"platform {shop.platform!r} is not available in this build")]
    if offline:
        return [Finding(area, "ok", "credentials decrypt (store not called: --offline)")]
    try:
        with runtime.db.read() as conn:
            access = runtime.access(conn, shop.id)
        return _call_store(runtime, platform, access, area)
    except LoyaltyError as error:
        return [Finding(area, "problem", f"the store refused or could not be reached: {error}")]
    except Exception as error:  # noqa: BLE001 - the doctor reports, it does not crash
        return [Finding(area, "problem", f"calling the store failed: {type(error).__name__}: {str(error)[:200]}")]


def _call_store(runtime: Runtime, platform: Any, access: ShopAccess, area: str) -> list[Finding]:
    """One cheap authenticated call; for WooCommerce, listing our webhooks is that call."""
    health = getattr(platform, "webhook_health", None)
    if health is not None:
        address = f"{runtime.settings.server.base_url.rstrip('/')}/webhooks/{access.platform}/{access.shop_id}"
        states = health(access, address)
        bad = [f"{state.topic} is {state.status}" for state in states if state.status != "active"]
        if bad:
            return [Finding(area, "ok", "the store accepts our keys"),
                    Finding(area, "problem", f"webhooks to {address}: {', '.join(bad)}; run `loyalty jobs run "
                            f"repair-webhooks --shop {access.shop_id}` (reconciliation covers the gap meanwhile)")]
        return [Finding(area, "ok", f"the store accepts our keys; {len(states)} webhooks active")]
    platform.find_order(access, "#0", "doctor@example.invalid")  # one authenticated read
    return [Finding(area, "ok", "the store accepts our token"),
            Finding(area, "ok", "webhook subscriptions cannot be listed by this adapter: not checked "
                    "(they are created at install; see the app's settings in the store admin)")]


def check_queues(runtime: Runtime) -> list[Finding]:
    snapshot = metrics.health_snapshot(runtime)
    found = []
    if snapshot.get("inbox_oldest_pending_seconds", 0) > STALE_INBOX_SECONDS:
        found.append(Finding("queues", "problem", f"{snapshot['inbox_pending']} webhook events wait, the oldest for "
                             f"{snapshot['inbox_oldest_pending_seconds']:.0f} s: is a `loyalty worker` running?"))
    if snapshot.get("inbox_failed"):
        found.append(Finding("queues", "warning", f"{snapshot['inbox_failed']} webhook events failed: "
                             "`loyalty events list --failed`, then `loyalty events replay --failed`"))
    if snapshot.get("outbox_failed"):
        found.append(Finding("queues", "warning", f"{snapshot['outbox_failed']} store writes failed for good "
                             "(points were given back); see the dashboard"))
    if not found:
        found.append(Finding("queues", "ok", f"{snapshot.get('inbox_pending', 0)} events and "
                             f"{snapshot.get('outbox_pending', 0)} store writes waiting"))
    return found


def has_problems(findings: list[Finding]) -> bool:
    return any(finding.level == "problem" for finding in findings)
