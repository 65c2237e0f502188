"""`loyalty shop add shopify` for a custom app: domain checked, webhooks created, secrets quiet."""
from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from integration.cli import main
from tests.fake_shopify import fake_shopify  # noqa: F401

DOMAIN = "custom-app.myshopify.com"


@pytest.fixture
def loyalty(fake_shopify, db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "cli-test"\nbase_url = "https://loyalty.example.com"\n'
                      f'[database]\nurl = "{db_url}"\n[shopify]\nadmin_url = "{fake_shopify.admin_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output
    return run


def test_custom_app_is_added_and_subscribed(loyalty, fake_shopify, caplog):  # type: ignore[no-untyped-def]
    token = fake_shopify.grant_token(DOMAIN, expires=False)["access_token"]
    caplog.set_level(logging.DEBUG)
    code, output = loyalty("shop", "add", "shopify", "--domain", "https://Custom-App.myshopify.com/",
                           "--access-token", token, "--api-secret", "custom-app-secret")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == f"shop 1 added: {DOMAIN}"
    assert lines[1] == "webhooks to https://loyalty.example.com/webhooks/shopify:"
    assert lines[2:] == [f"  {s['topic']}\tcreated" for s in fake_shopify.shop(DOMAIN).subscriptions]
    assert len(lines[2:]) == 7
    assert token not in output + caplog.text and "custom-app-secret" not in output + caplog.text
    # adding it again reports the subscriptions as already there
    code, output = loyalty("shop", "add", "shopify", "--domain", DOMAIN, "--access-token", token,
                           "--api-secret", "custom-app-secret")
    assert code == 0 and output.count("\texists") == 7
    assert len(fake_shopify.shop(DOMAIN).subscriptions) == 7


def test_no_subscribe_makes_no_call(loyalty, fake_shopify):  # type: ignore[no-untyped-def]
    code, output = loyalty("shop", "add", "shopify", "--domain", DOMAIN, "--access-token", "shpat_x",
                           "--api-secret", "s", "--no-subscribe")
    assert (code, output) == (0, f"shop 1 added: {DOMAIN}\n")
    assert fake_shopify.requests == []


def test_a_domain_that_is_not_a_shop_is_refused(loyalty, fake_shopify):  # type: ignore[no-untyped-def]
    code, output = loyalty("shop", "add", "shopify", "--domain", "store.example.com", "--access-token", "shpat_x",
                           "--api-secret", "s")
    assert code == 2
    assert "'store.example.com' is not a shop domain such as my-store.myshopify.com" in output
    assert "no shops yet" in loyalty("shop", "list")[1]


def test_a_token_the_store_refuses_is_reported(loyalty, fake_shopify):  # type: ignore[no-untyped-def]
    code, output = loyalty("shop", "add", "shopify", "--domain", DOMAIN, "--access-token", "shpat_revoked",
                           "--api-secret", "s")
    assert code == 1
    assert "the webhook subscriptions could not be created" in output
    assert "shpat_revoked" not in output
