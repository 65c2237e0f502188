"""Member import speed: `python -m bench.importer [--rows N] [--backend sqlite|postgresql]` imports
N generated members (default 100,000) through `loyalty import members` into a fresh database,
then imports the same file again (which must change nothing), and prints both times."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from bench.__main__ import TempDatabase
from integration.cli import main as cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    temp = TempDatabase(args.backend)
    try:
        directory = Path(tempfile.mkdtemp(prefix="loyalty-import-"))
        csv_file = directory / "members.csv"
        lines = ["customer_id,email,balance,tier"] + [f"{i},c{i}@example.com,{i % 900}," for i in range(args.rows)]
        csv_file.write_text("\n".join(lines) + "\n")
        config = directory / "config.toml"
        config.write_text(f'[server]\nsecret_key = "bench"\n[database]\nurl = "{temp.url}"\n')
        os.environ["LOYALTY_CONFIG"] = str(config)
        runner = CliRunner()
        for attempt in ("first import", "same file again"):
            started = time.perf_counter()
            result = runner.invoke(cli, ["import", "members", "--shop", str(temp.shop_id), str(csv_file)])
            elapsed = time.perf_counter() - started
            sys.stderr.write(result.stderr.splitlines()[-1] if result.stderr else "")
            print(f"{args.backend} {attempt}: {args.rows:,} rows in {elapsed:.1f} s "
                  f"({args.rows / elapsed:,.0f} rows/s) — {result.stdout.strip()}")
    finally:
        temp.close()


if __name__ == "__main__":
    main()
