"""Members from another loyalty app: a CSV of customers, their points balance and tier.

The imported balance is a target, not an amount to add: each member's `import` entries in the
ledger are brought to sum to the file's balance by one adjustment (`import:<customer>:<n>`, the
n-th import entry of that customer), so importing the same file again changes nothing, and a
corrected file moves each balance by the difference only. Points the member earned here are
left alone. A tier, when given, is set with a fresh window (demotion waits for its end, as
usual). Rows go in batches, one transaction each; a dry run reads and reports the same changes
without writing.

CSV: a header row; columns (any order, case-insensitive): `customer_id` and/or `email`,
`balance` (or `points`), optional `tier`, `first_name`, `last_name`. A row without a
customer id must name the email of an existing member: we cannot make up a store customer.
"""
from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from sqlalchemy import Connection, bindparam, func, select, update

from integration.db import Database, locked, repo
from integration.db.tables import import_runs, ledger_entries, members
from integration.program import Program
from integration.rules.calendar import add_months

BATCH_SIZE = 2000
ALIASES = {"points": "balance", "customer": "customer_id", "customer id": "customer_id", "id": "customer_id",
           "first name": "first_name", "last name": "last_name", "vip tier": "tier", "level": "tier"}


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    customer_id: str | None
    email: str | None
    balance: int
    tier: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass
class ImportReport:
    rows: int = 0
    new_members: int = 0
    balances_changed: int = 0
    points_added: int = 0
    points_removed: int = 0
    tiers_changed: int = 0
    unchanged: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (CSV line, message)
    seconds: float = 0.0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "new_members": self.new_members, "balances_changed": self.balances_changed,
                "points_added": self.points_added, "points_removed": self.points_removed,
                "tiers_changed": self.tiers_changed, "unchanged": self.unchanged,
                "problems": [[line, message] for line, message in self.problems[:200]],
                "problem_count": len(self.problems), "seconds": round(self.seconds, 2), "dry_run": self.dry_run}

    def summary(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        return (f"{self.rows:,} rows: {self.new_members:,} new members, {self.balances_changed:,} balances {verb} "
                f"(+{self.points_added:,} / -{self.points_removed:,} points), {self.tiers_changed:,} tiers {verb}, "
                f"{self.unchanged:,} unchanged, {len(self.problems):,} problems, in {self.seconds:.1f} s")


def file_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_rows(stream: TextIO, program: Program) -> tuple[list[ImportRow], list[tuple[int, str]]]:
    """The file's rows and every problem in it (bad numbers, unknown tiers, repeated customers)."""
    reader = csv.DictReader(stream)
    if not reader.fieldnames:
        return [], [(1, "the file is empty: it needs a header row")]
    columns = {name: ALIASES.get(name.strip().lower(), name.strip().lower()) for name in reader.fieldnames}
    known = set(columns.values())
    if "balance" not in known or not ({"customer_id", "email"} & known):
        return [], [(1, "the header needs a balance (or points) column and customer_id and/or email")]
    tiers = {t.name.lower(): t.name for t in program.tiers}
    rows: list[ImportRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, 2):
        record = {columns[k]: (v or "").strip() for k, v in raw.items() if k is not None}
        customer_id, email = record.get("customer_id") or None, (record.get("email") or "").lower() or None
        try:
            balance = Decimal(record.get("balance") or "0")
            if balance != balance.to_integral_value() or balance < 0:
                raise InvalidOperation
        except InvalidOperation:
            problems.append((line, f"balance {record.get('balance')!r} is not a whole number of points >= 0"))
            continue
        tier = record.get("tier") or None
        if tier is not None and tier.lower() not in tiers:
            problems.append((line, f"tier {tier!r} is not one of this program's tiers "
                                   f"({', '.join(t.name for t in program.tiers) or 'none defined'})"))
            continue
        identity = customer_id or f"email:{email}"
        if not customer_id and not email:
            problems.append((line, "no customer_id and no email"))
            continue
        if identity in seen:
            problems.append((line, f"the same customer is on line {seen[identity]}"))
            continue
        seen[identity] = line
        rows.append(ImportRow(line, customer_id, email, int(balance), tiers[tier.lower()] if tier else None,
                              record.get("first_name") or None, record.get("last_name") or None))
    return rows, problems


def import_members(db: Database, shop_id: int, rows: Sequence[ImportRow], now: datetime, *,
                   dry_run: bool = False, batch_size: int = BATCH_SIZE,
                   progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Apply (or, with `dry_run`, only count) the rows, `batch_size` per transaction."""
    report = ImportReport(dry_run=dry_run)
    started = time.perf_counter()
    for number, start in enumerate(range(0, len(rows), batch_size)):
        chunk = rows[start:start + batch_size]
        with (db.read() if dry_run else db.write()) as conn:
            _apply_chunk(conn, db, shop_id, chunk, now, dry_run, report)
        if not dry_run and not db.is_sqlite and number in (0, 3, 10, 30, 100):
            _analyze(db)
        if progress is not None:
            progress(start + len(chunk), len(rows))
    if progress is not None and not rows:
        progress(0, 0)
    report.rows = len(rows)
    report.seconds = time.perf_counter() - started
    return report


def _analyze(db: Database) -> None:
    """Refresh PostgreSQL's statistics while a big import grows the tables: a planner that still
    thinks `members` is empty scans it for every batch, and the import turns quadratic."""
    with db.write() as conn:
        conn.exec_driver_sql("ANALYZE members")
        conn.exec_driver_sql("ANALYZE ledger_entries")


def _apply_chunk(conn: Connection, db: Database, shop_id: int, chunk: Sequence[ImportRow], now: datetime,
                 dry_run: bool, report: ImportReport) -> None:
    program = repo.current_program(conn, shop_id)
    by_customer, by_email = _existing(conn, db, shop_id, chunk)
    resolved: list[tuple[ImportRow, Any]] = []
    new_rows: list[ImportRow] = []
    for row in chunk:
        member = by_customer.get(row.customer_id) if row.customer_id else by_email.get(row.email or "")
        if member is None and not row.customer_id:
            report.problems.append((row.line, f"no member with email {row.email} (give the customer_id to create one)"))
            continue
        if member is None:
            new_rows.append(row)
        resolved.append((row, member))
    report.new_members += len(new_rows)
    if new_rows and not dry_run:
        _insert_members(conn, shop_id, new_rows, now)
        created, _ = _existing(conn, db, shop_id, new_rows)
        resolved = [(row, member or created[row.customer_id]) for row, member in resolved]
    imported = _imported(conn, shop_id, [m.id for _, m in resolved if m is not None])
    entries, tier_changes = [], []
    tier_until = add_months(now, program.tier_window_months)
    for row, member in resolved:
        so_far, count = imported.get(member.id, (0, 0)) if member is not None else (0, 0)
        delta = row.balance - so_far
        tier_changed = row.tier is not None and (member is None or member.tier != row.tier)
        if delta:
            report.balances_changed += 1
            report.points_added += max(delta, 0)
            report.points_removed += max(-delta, 0)
        if tier_changed:
            report.tiers_changed += 1
        if not delta and not tier_changed and member is not None:
            report.unchanged += 1
        if dry_run or member is None:
            continue
        if delta:
            customer = member.customer_id
            entries.append({"shop_id": shop_id, "member_id": member.id, "source_key": f"import:{customer}:{count + 1}",
                            "kind": "import", "points": delta, "program_version": program.version,
                            "note": f"imported balance {row.balance}", "created_at": now, "spendable_at": now})
        if tier_changed:
            tier_changes.append({"member": member.id, "tier": row.tier, "until": tier_until})
    if entries:
        inserted = repo.insert_many_once(conn, ledger_entries, entries, ["shop_id", "source_key"],
                                ledger_entries.c.member_id, ledger_entries.c.points)
        _move_balances(conn, inserted)
    if tier_changes:
        conn.execute(update(members).where(members.c.id == bindparam("member"))
                     .values(tier=bindparam("tier"), tier_until=bindparam("until")), tier_changes)


def _existing(conn: Connection, db: Database, shop_id: int,
              rows: Iterable[ImportRow]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Members named by the rows (locked for the transaction on PostgreSQL), by customer id and
    by email; an email shared by several members resolves to the first."""
    rows = list(rows)
    columns = (members.c.id, members.c.customer_id, members.c.email, members.c.tier)
    customer_ids = [r.customer_id for r in rows if r.customer_id]
    emails = [r.email for r in rows if not r.customer_id and r.email]
    by_customer: dict[str, Any] = {}
    by_email: dict[str, Any] = {}
    if customer_ids:
        statement = select(*columns).where(members.c.shop_id == shop_id, members.c.customer_id.in_(customer_ids))
        by_customer = {m.customer_id: m for m in conn.execute(locked(conn, statement))}
    if emails:
        statement = (select(*columns).where(members.c.shop_id == shop_id, members.c.email.in_(emails))
                     .order_by(members.c.id))
        for member in conn.execute(locked(conn, statement)):
            by_email.setdefault(member.email, member)
    return by_customer, by_email


def _insert_members(conn: Connection, shop_id: int, rows: Sequence[ImportRow], now: datetime) -> None:
    repo.insert_many_once(conn, members, [{
        "shop_id": shop_id, "customer_id": row.customer_id, "email": row.email, "first_name": row.first_name,
        "last_name": row.last_name, "enrolled_at": now, "balance": 0, "lifetime_points": 0, "orders_count": 0,
        "total_spent": 0, "accepts_marketing": False, "unsubscribed": False, "redacted": False,
    } for row in rows], ["shop_id", "customer_id"], members.c.id)


def _imported(conn: Connection, shop_id: int, member_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per member: the points its import entries add up to, and how many there are."""
    if not member_ids:
        return {}
    statement = (select(ledger_entries.c.member_id, func.sum(ledger_entries.c.points), func.count())
                 .where(ledger_entries.c.shop_id == shop_id, ledger_entries.c.kind == "import",
                        ledger_entries.c.member_id.in_(member_ids))
                 .group_by(ledger_entries.c.member_id))
    return {member_id: (int(total), int(count)) for member_id, total, count in conn.execute(statement)}


def _move_balances(conn: Connection, inserted: list[Any]) -> None:
    """The cached balance moves by exactly the entries that went in (README invariant 2), in
    this transaction; an entry that already existed (a replay) moves nothing."""
    if inserted:
        conn.execute(update(members).where(members.c.id == bindparam("member"))
                     .values(balance=members.c.balance + bindparam("delta")),
                     [{"member": row.member_id, "delta": row.points} for row in inserted])


# -- runs: what the settings page and the CLI show -------------------------------------------

def start_run(db: Database, shop_id: int, *, sha: str, filename: str, total_rows: int, dry_run: bool,
              now: datetime) -> int:
    with db.write() as conn:
        return int(conn.execute(import_runs.insert().values(
            shop_id=shop_id, file_sha=sha, filename=filename[:255], dry_run=dry_run, status="running",
            total_rows=total_rows, processed_rows=0, summary={}, started_at=now,
        ).returning(import_runs.c.id)).scalar_one())


def record_progress(db: Database, run_id: int, processed: int) -> None:
    with db.write() as conn:
        conn.execute(update(import_runs).where(import_runs.c.id == run_id).values(processed_rows=processed))


def finish_run(db: Database, run_id: int, report: ImportReport | None, now: datetime, error: str | None = None) -> None:
    with db.write() as conn:
        conn.execute(update(import_runs).where(import_runs.c.id == run_id).values(
            status="failed" if error else "done", summary=report.as_dict() if report else {}, error=error,
            finished_at=now, **({"processed_rows": report.rows} if report else {}),
        ))


@dataclass
class PreparedRun:
    run_id: int
    rows: list[ImportRow]
    problems: list[tuple[int, str]]
    dry_run: bool


def prepare_run(db: Database, shop_id: int, data: bytes, filename: str, now: datetime, *,
                dry_run: bool) -> PreparedRun:
    """Read `data` (UTF-8 CSV, BOM allowed) and record the run (status running)."""
    import io
    with db.read() as conn:
        program = repo.current_program(conn, shop_id)
    rows, problems = read_rows(io.StringIO(data.decode("utf-8-sig")), program)
    run_id = start_run(db, shop_id, sha=file_sha(data), filename=filename, total_rows=len(rows), dry_run=dry_run,
                       now=now)
    return PreparedRun(run_id, rows, problems, dry_run)


def execute_run(db: Database, shop_id: int, prepared: PreparedRun, now: datetime, *,
                progress: Callable[[int, int], None] | None = None, batch_size: int = BATCH_SIZE) -> ImportReport:
    """Import (or dry-run) a prepared run, recording its progress and outcome."""
    def tick(done: int, total: int) -> None:
        record_progress(db, prepared.run_id, done)
        if progress is not None:
            progress(done, total)
    try:
        report = import_members(db, shop_id, prepared.rows, now, dry_run=prepared.dry_run, progress=tick,
                                batch_size=batch_size)
    except Exception as error:  # noqa: BLE001 - the run is marked failed for the page, then re-raised
        finish_run(db, prepared.run_id, None, now, error=str(error)[:1000])
        raise
    report.problems[:0] = prepared.problems
    finish_run(db, prepared.run_id, report, now)
    return report


def run_import(db: Database, shop_id: int, data: bytes, filename: str, now: datetime, *, dry_run: bool,
               progress: Callable[[int, int], None] | None = None, batch_size: int = BATCH_SIZE) -> tuple[int, ImportReport]:
    """Prepare and execute in one go (the CLI, and dry runs on the page); the run id and report."""
    prepared = prepare_run(db, shop_id, data, filename, now, dry_run=dry_run)
    return prepared.run_id, execute_run(db, shop_id, prepared, now, progress=progress, batch_size=batch_size)
