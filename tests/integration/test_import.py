"""Importing members from another loyalty app: a dry run reports, an import sets each member's
imported balance to the file's, and running it again changes nothing."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from integration.cli import main
from integration.db import repo
from integration.db.tables import ledger_entries, members
from integration.program import Program, Tier, program_to_dict
from integration.redemption import update_program
from integration.shops import add_shop


@pytest.fixture
def shop(db, clock):  # type: ignore[no-untyped-def]
    from integration.crypto import SecretBox
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "x"), platform="fake", domain="import.example", now=clock())
        update_program(conn, shop_id, program_to_dict(Program(tiers=(Tier("Red", 0), Tier("Gold", 500)))), clock())
    return shop_id


@pytest.fixture
def loyalty(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nsecret_key = "cli-test"\n[database]\nurl = "{db_url}"\n')
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    runner = CliRunner()

    def run(*args: str) -> tuple[str, str]:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout, result.stderr
    return run


def write_csv(path, count: int, offset: int = 0):  # type: ignore[no-untyped-def]
    lines = ["Customer ID,Email,Points,Tier"]
    lines += [f"{i},c{i}@example.com,{(i + offset) % 900},{'Gold' if i % 10 == 0 else ''}" for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def totals(db, shop_id):  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return conn.execute(select(func.count(), func.coalesce(func.sum(members.c.balance), 0),
                                   func.count().filter(members.c.tier == "Gold"))
                            .where(members.c.shop_id == shop_id)).one(), \
            conn.execute(select(func.count()).where(ledger_entries.c.shop_id == shop_id)).scalar_one()


def test_dry_run_then_import_then_rerun_changes_nothing(loyalty, db, shop, tmp_path):  # type: ignore[no-untyped-def]
    csv_file = write_csv(tmp_path / "members.csv", 5000)
    expected_points = sum(i % 900 for i in range(5000))
    # dry run: a report, nothing written
    out, err = loyalty("import", "members", "--shop", str(shop), str(csv_file), "--dry-run")
    assert "5,000 new members" in out and "dry run" in err and "5,000/5,000" in err
    assert totals(db, shop) == ((0, 0, 0), 0)
    # import
    started = time.perf_counter()
    out, _ = loyalty("import", "members", "--shop", str(shop), str(csv_file))
    assert time.perf_counter() - started < 30
    assert f"(+{expected_points:,} / -0 points)" in out and "500 tiers changed" in out
    (count, balance, gold), entries = totals(db, shop)
    assert (count, balance, gold) == (5000, expected_points, 500)
    # again: nothing changes
    out, _ = loyalty("import", "members", "--shop", str(shop), str(csv_file))
    assert "0 new members, 0 balances changed" in out and "5,000 unchanged" in out
    assert totals(db, shop) == ((5000, expected_points, 500), entries)


def test_a_corrected_file_moves_balances_by_the_difference(loyalty, db, shop, tmp_path, clock):  # type: ignore[no-untyped-def]
    loyalty("import", "members", "--shop", str(shop), str(write_csv(tmp_path / "a.csv", 10)))
    with db.write() as conn:  # a member earns here in between; the import must leave that alone
        repo.append_entry(conn, shop_id=shop, member_id=conn.execute(select(members.c.id).where(
            members.c.customer_id == "3")).scalar_one(), source_key="order:x:earn", kind="earn", points=7,
            program_version=1, at=clock())
    out, _ = loyalty("import", "members", "--shop", str(shop), str(write_csv(tmp_path / "b.csv", 10, offset=5)))
    assert "10 balances changed (+50 / -0 points)" in out
    with db.read() as conn:
        balance = conn.execute(select(members.c.balance).where(members.c.customer_id == "3")).scalar_one()
        keys = sorted(conn.execute(select(ledger_entries.c.source_key).where(
            ledger_entries.c.source_key.like("import:3:%"))).scalars())
    assert balance == 8 + 7 and keys == ["import:3:1", "import:3:2"]


def test_problems_are_reported_per_line_and_skipped(loyalty, db, shop, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,email,balance,tier\n1,a@x.com,12.5,\n2,b@x.com,10,Diamond\n,nobody@x.com,5,\n"
                    "3,c@x.com,20,gold\n3,c@x.com,20,\n")
    out, err = loyalty("import", "members", "--shop", str(shop), str(path))
    assert "line 2: balance '12.5' is not a whole number" in err
    assert "line 3: tier 'Diamond' is not one of this program's tiers (Red, Gold)" in err
    assert "line 4: no member with email nobody@x.com" in err
    assert "line 6: the same customer is on line 5" in err
    assert "1 new members" in out and "1 tiers changed" in out
