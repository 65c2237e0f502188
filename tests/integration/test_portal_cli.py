"""`loyalty member link`: the operator prints a member's portal link."""
from __future__ import annotations

from datetime import datetime, timezone

from click.testing import CliRunner

from integration import links
from integration.cli import main
from integration.crypto import SecretBox
from integration.events import Customer
from integration.program import default_program
from integration.services import enrol
from integration.shops import add_shop


def test_member_link_prints_a_working_link(db, db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "cli-test"\nbase_url = "https://loyalty.example"\n'
                      f'[database]\nurl = "{db_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    now = datetime.now(timezone.utc)
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "cli-test"), platform="fake", domain="shop-a.example", now=now)
        member_id = enrol(conn, shop_id, Customer("c1", email="ann@example.com"), default_program(), now).id
    result = CliRunner().invoke(main, ["member", "link", "--shop", "shop-a.example", "--email", "ANN@example.com"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://loyalty.example/portal/")
    ref = links.read_portal_token("cli-test", url.rsplit("/", 1)[1], now)
    assert (ref.shop_id, ref.member_id) == (shop_id, member_id)
    missing = CliRunner().invoke(main, ["member", "link", "--shop", "shop-a.example", "--email", "bob@example.com"])
    assert missing.exit_code == 1 and "no member" in missing.output
