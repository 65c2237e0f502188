"""Configuration: TOML, environment overrides, and every bad key named at once."""
from __future__ import annotations

import pytest

from integration.config import ConfigError, build_settings, load_settings


def test_environment_overrides_the_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text('[server]\nsecret_key = "s"\nport = 8000\n[database]\nurl = "sqlite:///x.db"\n')
    settings = load_settings(path, environ={"LOYALTY_SERVER__PORT": "9001",
                                            "LOYALTY_DATABASE__URL": "postgresql://postgres@127.0.0.1/db",
                                            "LOYALTY_SERVER__WORKER_THREAD": "false"})
    assert settings.server.port == 9001
    assert settings.server.worker_thread is False
    assert settings.database.url == "postgresql://postgres@127.0.0.1/db"
    assert settings.shopify.admin_url == "https://{shop}"


def test_every_bad_key_is_named_at_once():  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as error:
        build_settings({"server": {"port": "eighty", "colour": "red"}, "nonsense": {}},
                       environ={"LOYALTY_EMAIL__TRANSPORT": "pigeon"})
    assert error.value.problems == [
        "[nonsense]: unknown section",
        "server.port: expected a number, got 'eighty'",
        "server.colour: unknown key",
        "server.secret_key: must be set (a long random string)",
        "email.transport: expected 'file' or 'smtp'",
    ]


def test_missing_file_is_a_clear_error(tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_the_example_config_is_valid():  # type: ignore[no-untyped-def]
    from pathlib import Path
    settings = load_settings(Path(__file__).resolve().parents[2] / "config.example.toml", environ={})
    assert settings.database.url == "sqlite:///var/loyalty.db"
