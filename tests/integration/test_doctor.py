"""`loyalty doctor` and `loyalty keys rotate` against a healthy and a broken deployment, with the
fake Shopify and WooCommerce stores at the HTTP boundary."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from adapters.shopify import ShopifyPlatform
from integration.cli import main
from integration.config import build_settings
from integration.db.tables import shops
from integration.doctor import examine, has_problems
from integration.shops import add_shop
from integration.web.bootstrap import build_runtime
from integration.web.woocommerce_app import connect_store
from tests.fake_shopify import fake_shopify  # noqa: F401
from tests.fake_woocommerce import PUBLIC_URL, running_service, running_store

DOMAIN = "doctor.myshopify.com"
KEY = Fernet.generate_key().decode()


def settings_for(db_url: str, admin_url: str, **server: str):  # type: ignore[no-untyped-def]
    return build_settings({
        "server": {"secret_key": "a-long-random-doctor-secret", "base_url": "https://loyalty.example.com",
                   "encryption_key": KEY, **server},
        "database": {"url": db_url}, "shopify": {"api_secret": "app-secret", "admin_url": admin_url}}, environ={})


@pytest.fixture
def shopify_runtime(db, db_url, fake_shopify):  # type: ignore[no-untyped-def]
    platform = ShopifyPlatform(admin_url=fake_shopify.admin_url, sleep=lambda seconds: None, max_attempts=2)
    runtime = build_runtime(settings_for(db_url, fake_shopify.admin_url), platforms={"shopify": platform}, db=db)
    token = fake_shopify.grant_token(DOMAIN, expires=False)["access_token"]
    with db.write() as conn:
        add_shop(conn, runtime.box, platform="shopify", domain=DOMAIN, now=runtime.clock(),
                 credentials={"access_token": token})
    return runtime


def lines(findings) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(finding.level, finding.area) for finding in findings]


def test_a_healthy_shopify_deployment_has_no_problem(shopify_runtime, fake_shopify):  # type: ignore[no-untyped-def]
    # when
    findings = examine(shopify_runtime)
    # then
    assert not has_problems(findings), "\n".join(map(str, findings))
    assert ("ok", f"shop 1 ({DOMAIN})") in lines(findings)
    assert [f.message for f in findings if f.area == "database"][0].endswith("is migrated to "
                                                                            + findings[1].message.split()[-1])
    assert len(fake_shopify.graphql_calls("orders")) == 1  # one cheap authenticated read


def test_offline_makes_no_store_call(shopify_runtime, fake_shopify):  # type: ignore[no-untyped-def]
    findings = examine(shopify_runtime, offline=True)
    assert not has_problems(findings)
    assert fake_shopify.requests == []


def test_a_revoked_token_is_a_problem_named_in_plain_words(shopify_runtime, fake_shopify):  # type: ignore[no-untyped-def]
    # given the merchant removed the app in the store
    fake_shopify.uninstall(DOMAIN)
    # when
    findings = examine(shopify_runtime)
    # then
    [problem] = [f for f in findings if f.level == "problem"]
    assert problem.area == f"shop 1 ({DOMAIN})"
    assert problem.message.startswith("the store refused or could not be reached: Shopify doctor.myshopify.com "
                                      "refused the access token (HTTP 401)")


def test_a_replaced_encryption_key_is_found(shopify_runtime, db, db_url, fake_shopify):  # type: ignore[no-untyped-def]
    # given the operator replaced the key instead of rotating it
    replaced = build_runtime(settings_for(db_url, fake_shopify.admin_url, encryption_key=Fernet.generate_key().decode()),
                             platforms=shopify_runtime.platforms, db=db)
    # when
    findings = examine(replaced)
    # then
    [problem] = [f for f in findings if f.level == "problem"]
    assert "cannot be decrypted with server.encryption_key" in problem.message
    assert fake_shopify.requests == []


def test_bad_config_and_an_old_schema_are_problems(shopify_runtime, db, db_url, fake_shopify):  # type: ignore[no-untyped-def]
    # given the example's secret, a plain-HTTP public address and a schema one migration behind
    runtime = build_runtime(settings_for(db_url, fake_shopify.admin_url, secret_key="change-me-to-a-long-random-string",
                                         base_url="http://loyalty.example.com"), platforms=shopify_runtime.platforms, db=db)
    with db.write() as conn:
        newest = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    # when
    try:
        findings = examine(runtime)
    finally:  # the PostgreSQL test database is shared by the session
        with db.write() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": newest})
    # then
    problems = [(f.area, f.message.split(":")[0]) for f in findings if f.level == "problem"]
    assert problems[0] == ("config", "server.secret_key is the example's or shorter than 16 characters")
    assert problems[1] == ("config", "server.base_url http")
    assert problems[2][0] == "database" and "run `loyalty db upgrade`" in [f.message for f in findings
                                                                           if f.area == "database"][0]
    assert len(problems) == 3  # shops are not examined on a schema that is not the newest


def test_cli_exit_code_follows_problems(shopify_runtime, db_url, fake_shopify, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "a-long-random-doctor-secret"\nbase_url = "https://loyalty.example.com"\n'
                      f'encryption_key = "{KEY}"\n[database]\nurl = "{db_url}"\n'
                      f'[shopify]\napi_secret = "app-secret"\nadmin_url = "{fake_shopify.admin_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    healthy = CliRunner().invoke(main, ["doctor"], catch_exceptions=False)
    assert healthy.exit_code == 0, healthy.output
    assert healthy.output.splitlines()[-1].startswith("0 problem(s), ")  # SQLite itself is a warning
    fake_shopify.uninstall(DOMAIN)
    broken = CliRunner().invoke(main, ["doctor"], catch_exceptions=False)
    assert broken.exit_code == 1
    assert broken.output.splitlines()[-1].startswith("1 problem(s), ")
    assert f"PROBLEM  shop 1 ({DOMAIN}): the store refused" in broken.output


def test_disabled_woocommerce_webhooks_are_a_problem(db, db_url):  # type: ignore[no-untyped-def]
    with running_store() as store, running_service(db, db_url, store) as service:
        consumer_key, consumer_secret = store.add_keys()
        connected = connect_store(service.runtime, store.url, consumer_key, consumer_secret)
        area = f"shop {connected.shop_id} ({store.url})"
        healthy = [f for f in examine(service.runtime) if f.area == area]
        assert [f.level for f in healthy] == ["ok"] and "5 webhooks active" in healthy[0].message
        # when WooCommerce disabled one after failed deliveries
        store.set_webhook_status("disabled", topic="order.updated")
        findings = [f for f in examine(service.runtime) if f.area == area]
        # then
        assert [f.level for f in findings] == ["ok", "problem"]
        assert findings[1].message == (f"webhooks to {PUBLIC_URL}/webhooks/woocommerce/{connected.shop_id}: "
                                       "order.updated is disabled; run `loyalty jobs run repair-webhooks --shop "
                                       f"{connected.shop_id}` (reconciliation covers the gap meanwhile)")


def test_keys_rotate_reencrypts_every_secret_under_the_newest_key(shopify_runtime, db, db_url, fake_shopify,  # type: ignore[no-untyped-def]
                                                                  tmp_path, monkeypatch):
    # given a new key put in front of the old one
    newest = Fernet.generate_key().decode()
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "a-long-random-doctor-secret"\nencryption_key = "{newest},{KEY}"\n'
                      f'[database]\nurl = "{db_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    with db.read() as conn:
        before = conn.execute(select(shops.c.credentials)).scalar_one()
    # when
    result = CliRunner().invoke(main, ["keys", "rotate"], catch_exceptions=False)
    # then
    assert (result.exit_code, result.output) == (0, "1 shop(s) re-encrypted under the newest key; "
                                                    "older keys may now be removed\n")
    with db.read() as conn:
        after = conn.execute(select(shops.c.credentials)).scalar_one()
    assert after != before
    assert json.loads(Fernet(newest.encode()).decrypt(after.encode()))["access_token"].startswith("shpat_")
    # and the old key alone no longer opens it
    with pytest.raises(Exception, match="InvalidToken|^$"):
        Fernet(KEY.encode()).decrypt(after.encode())
