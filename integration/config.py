"""Configuration: `config.toml` → frozen `Settings`, every key overridable by environment.

`LOYALTY_<SECTION>__<KEY>` overrides `[section] key` (e.g. `LOYALTY_DATABASE__URL`). Values from the
environment are parsed as TOML scalars when they look like one (`8000`, `true`), else kept as text.
`load_settings` checks everything at once and raises `ConfigError` naming each bad key.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "LOYALTY_"


class ConfigError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    encryption_key: str = ""  # Fernet key for tokens at rest; derived from secret_key when empty
    worker_thread: bool = True
    max_body_bytes: int = 2 * 1024 * 1024  # larger request bodies get 413 (JSON)
    log_format: str = "text"  # "text" or "json" (one object per line, for a log shipper)
    metrics_token: str = ""  # when set, GET /metrics needs `Authorization: Bearer <token>`


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str = "sqlite:///var/loyalty.db"
    pool_size: int = 5
    echo: bool = False


@dataclass(frozen=True, slots=True)
class ShopifySettings:
    api_key: str = ""
    api_secret: str = ""
    previous_api_secret: str = ""
    api_version: str = "2026-10"
    admin_url: str = "https://{shop}"
    scopes: str = "read_orders,read_customers,write_customers,read_products,write_discounts,read_discounts"


@dataclass(frozen=True, slots=True)
class WooCommerceSettings:
    app_name: str = "loyalty-bridge"
    verify_tls: bool = True
    timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class EmailSettings:
    transport: str = "file"  # "file" writes .eml files; "smtp" sends
    directory: str = "var/mail"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    sender: str = "loyalty@localhost"


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    enabled: bool = True
    timezone: str = "UTC"
    worker_batch_size: int = 50
    worker_poll_seconds: float = 0.5
    outbox_poll_seconds: float = 2.0
    reconcile_minutes: int = 15
    leader_retry_seconds: float = 10.0  # how often a follower tries to become the leader


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    shopify: ShopifySettings = field(default_factory=ShopifySettings)
    woocommerce: WooCommerceSettings = field(default_factory=WooCommerceSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)


SECTIONS = {f.name: f.default_factory for f in fields(Settings)}  # type: ignore[misc]


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].partition("__")
        found.setdefault(section.lower(), {})[key.lower()] = value
    return found


def _coerce(raw: Any, expected: type, where: str, problems: list[str]) -> Any:
    if expected is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return raw.lower() in ("1", "true", "yes", "on")
        problems.append(f"{where}: expected true or false, got {raw!r}")
        return None
    if expected in (int, float):
        try:
            if isinstance(raw, bool):
                raise ValueError
            return expected(raw)
        except (TypeError, ValueError):
            problems.append(f"{where}: expected a number, got {raw!r}")
            return None
    if not isinstance(raw, str):
        problems.append(f"{where}: expected text, got {raw!r}")
        return None
    return raw


def build_settings(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from parsed TOML plus environment overrides; every problem reported at once."""
    problems: list[str] = []
    merged: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in SECTIONS:
            problems.append(f"[{section}]: unknown section")
        elif not isinstance(values, dict):
            problems.append(f"[{section}]: expected a table")
        else:
            merged.setdefault(section, {}).update(values)
    for section, values in _env_overrides(environ if environ is not None else os.environ).items():
        if section not in SECTIONS:
            problems.append(f"{ENV_PREFIX}{section.upper()}__*: unknown section {section!r}")
            continue
        merged.setdefault(section, {}).update(values)
    built: dict[str, Any] = {}
    for section, factory in SECTIONS.items():
        defaults = factory()
        known = {f.name: f for f in fields(defaults)}
        values: dict[str, Any] = {}
        for key, raw in merged.get(section, {}).items():
            if key not in known:
                problems.append(f"{section}.{key}: unknown key")
                continue
            expected = type(getattr(defaults, key))
            values[key] = _coerce(raw, expected, f"{section}.{key}", problems)
        built[section] = type(defaults)(**{**{k: getattr(defaults, k) for k in known}, **values})
    settings = Settings(**built)
    problems.extend(_check(settings))
    if problems:
        raise ConfigError(problems)
    return settings


def _check(settings: Settings) -> list[str]:
    problems = []
    if not settings.server.secret_key:
        problems.append("server.secret_key: must be set (a long random string)")
    if isinstance(settings.server.port, int) and not 0 < settings.server.port < 65536:
        problems.append(f"server.port: {settings.server.port} is not a TCP port")
    if isinstance(settings.server.base_url, str) and not settings.server.base_url.startswith(("http://", "https://")):
        problems.append("server.base_url: must start with http:// or https://")
    if isinstance(settings.database.url, str) and "://" not in settings.database.url:
        problems.append("database.url: expected a URL such as sqlite:///var/loyalty.db")
    if settings.server.log_format not in ("text", "json"):
        problems.append("server.log_format: expected 'text' or 'json'")
    if settings.email.transport not in ("file", "smtp"):
        problems.append("email.transport: expected 'file' or 'smtp'")
    if isinstance(settings.shopify.admin_url, str) and "{shop}" not in settings.shopify.admin_url:
        problems.append("shopify.admin_url: must contain {shop}")
    return problems


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (or $LOYALTY_CONFIG, or ./config.toml when present) and apply the environment."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("LOYALTY_CONFIG")
    if path is None and Path("config.toml").exists():
        path = "config.toml"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"{path}: no such configuration file"]) from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError([f"{path}: {error}"]) from None
    return build_settings(data, environ)
