"""Queries, each scoped to one shop. Idempotent writes rely on unique constraints, never on a
prior SELECT: `insert_once` is INSERT … ON CONFLICT DO NOTHING on both SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from integration.db import locked
from integration.db.tables import ledger_entries, members, programs, shops
from integration.program import Program, default_program, program_from_dict, program_to_dict
from integration.ports import LoyaltyError


class NotFoundError(LoyaltyError):
    """The thing asked for does not exist in this shop."""


class LedgerConflictError(LoyaltyError):
    """A source key was replayed with different points: a bug or tampering, never ignored."""

    def __init__(self, source_key: str, stored: int, offered: int):
        super().__init__(f"{source_key}: stored {stored} points, now offered {offered}")


def insert_once(conn: Connection, table: Table, values: dict[str, Any],
                conflict: list[str]) -> int | None:
    """Insert a row unless one with the same `conflict` columns exists; the new id, or None."""
    row = insert_once_returning(conn, table, values, conflict, table.c.id)
    return row.id if row is not None else None


def insert_once_returning(conn: Connection, table: Table, values: dict[str, Any], conflict: list[str],
                          *columns: Any) -> Any:
    """As `insert_once`, returning the new row's `columns` (all by default), or None."""
    statement = _insert_statement(conn.dialect.name, table, tuple(conflict), columns or tuple(table.c))
    return conn.execute(statement, values).first()


def insert_many_once(conn: Connection, table: Table, rows: list[dict[str, Any]], conflict: list[str],
                     *columns: Any) -> list[Any]:
    """`insert_once` for many rows; the rows actually inserted, with `columns` (the id by default).
    SQLAlchemy sends them as multi-row statements ("insertmanyvalues")."""
    if not rows:
        return []
    statement = _insert_statement(conn.dialect.name, table, tuple(conflict), columns or (table.c.id,))
    return conn.execute(statement, rows).all()


def claim_due(conn: Connection, table: Table, now: datetime, limit: int, lease_seconds: float,
              *columns: Any, only_id: int | None = None) -> list[Any]:
    """Pending rows of a work table (inbox, outbox, emails) whose time has come, leased to the
    caller: their attempt count goes up and they are not due again until the lease runs out, so a
    caller that dies leaves them to be claimed again. Other callers skip them (SKIP LOCKED)."""
    statement = (select(*(columns or table.c)).where(table.c.status == "pending", table.c.next_attempt_at <= now)
                 .order_by(table.c.id).limit(limit))
    if only_id is not None:
        statement = statement.where(table.c.id == only_id)
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = conn.execute(statement).fetchall()
    if rows:
        conn.execute(update(table).where(table.c.id.in_([row.id for row in rows])).values(
            attempts=table.c.attempts + 1, next_attempt_at=now + timedelta(seconds=lease_seconds)))
    return rows


@lru_cache(maxsize=256)
def _insert_statement(dialect_name: str, table: Table, conflict: tuple[str, ...], columns: tuple[Any, ...]) -> Any:
    """Built once and executed with bound values: SQLAlchemy then reuses its compiled form
    without rebuilding the statement and its cache key for every row (the worker's hot path)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(conflict)).returning(*columns)


# -- programs --------------------------------------------------------------------------------

def current_program(conn: Connection, shop_id: int) -> Program:
    row = conn.execute(
        select(programs.c.data).where(programs.c.shop_id == shop_id)
        .order_by(programs.c.version.desc()).limit(1)
    ).first()
    return program_from_dict(row.data) if row else default_program()


def program_version(conn: Connection, shop_id: int, version: int) -> Program:
    row = conn.execute(
        select(programs.c.data).where(programs.c.shop_id == shop_id, programs.c.version == version)
    ).first()
    if row is None:
        if version == 1:
            return default_program()
        raise NotFoundError(f"program version {version} of shop {shop_id}")
    return program_from_dict(row.data)


def save_program(conn: Connection, shop_id: int, program: Program, note: str, now: datetime) -> None:
    conn.execute(insert(programs).values(
        shop_id=shop_id, version=program.version, data=program_to_dict(program), note=note,
        created_at=now,
    ))


# -- members ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MemberRef:
    id: int
    created: bool
    row: Any  # the member as of now; locked for the transaction on PostgreSQL


def ensure_member(conn: Connection, shop_id: int, customer_id: str, now: datetime,
                  **attributes: Any) -> MemberRef:
    """The member for a store customer, enrolled now if new; given attributes that are not None
    overwrite the stored ones (a later webhook knows the email a redacted one did not)."""
    known = {key: value for key, value in attributes.items() if value is not None}
    row = insert_once_returning(conn, members, {
        "shop_id": shop_id, "customer_id": customer_id, "enrolled_at": now, "balance": 0,
        "lifetime_points": 0, "orders_count": 0, "total_spent": 0, "accepts_marketing": False,
        "unsubscribed": False, "redacted": False, **known,
    }, ["shop_id", "customer_id"])
    if row is not None:
        return MemberRef(row.id, True, row)
    row = conn.execute(  # an UPDATE, even of nothing, also takes the row lock on PostgreSQL
        update(members).where(members.c.shop_id == shop_id, members.c.customer_id == customer_id)
        .values(**(known or {"customer_id": customer_id})).returning(*members.c)
    ).one()
    return MemberRef(row.id, False, row)


def lock_member(conn: Connection, shop_id: int, member_id: int) -> Any:
    """The member row, locked for the rest of the transaction (PostgreSQL; SQLite's write
    transaction is already exclusive)."""
    row = conn.execute(locked(conn, select(members).where(members.c.shop_id == shop_id, members.c.id == member_id))).first()
    if row is None:
        raise NotFoundError(f"member {member_id}")
    return row


# -- ledger ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    points: int
    source_key: str
    created: bool


def append_entry(conn: Connection, *, shop_id: int, member_id: int, source_key: str, kind: str,
                 points: int, program_version: int, at: datetime, spendable_at: datetime | None = None,
                 expires_at: datetime | None = None, order_id: str | None = None, note: str = "") -> Entry:
    """Append once per (shop, source_key) and move the cached balance in the same transaction.
    A replay with the same points returns the stored entry; other points raise."""
    new_id = insert_once(conn, ledger_entries, {
        "shop_id": shop_id, "member_id": member_id, "source_key": source_key, "kind": kind,
        "points": points, "program_version": program_version, "order_id": order_id,
        "note": note[:500], "created_at": at, "spendable_at": spendable_at or at,
        "expires_at": expires_at,
    }, ["shop_id", "source_key"])
    if new_id is None:
        stored = conn.execute(
            select(ledger_entries.c.id, ledger_entries.c.points)
            .where(ledger_entries.c.shop_id == shop_id, ledger_entries.c.source_key == source_key)
        ).one()
        if stored.points != points:
            raise LedgerConflictError(source_key, stored.points, points)
        return Entry(stored.id, stored.points, source_key, False)
    credit = points if points > 0 and kind in ("earn", "signup", "bonus", "adjust", "referral", "birthday") else 0
    conn.execute(update(members).where(members.c.id == member_id).values(
        balance=members.c.balance + points, lifetime_points=members.c.lifetime_points + credit,
    ))
    return Entry(new_id, points, source_key, True)


def ledger_sum(conn: Connection, shop_id: int, member_id: int) -> int:
    return int(conn.execute(
        select(func.coalesce(func.sum(ledger_entries.c.points), 0))
        .where(ledger_entries.c.shop_id == shop_id, ledger_entries.c.member_id == member_id)
    ).scalar_one())


def spendable_points(conn: Connection, shop_id: int, member_id: int, now: datetime) -> int:
    """Debits count at once; credits only from their `spendable_at` (the pending period)."""
    counted = (ledger_entries.c.points < 0) | (ledger_entries.c.spendable_at <= now)
    return int(conn.execute(
        select(func.coalesce(func.sum(ledger_entries.c.points), 0))
        .where(ledger_entries.c.shop_id == shop_id, ledger_entries.c.member_id == member_id, counted)
    ).scalar_one())


def shop_row(conn: Connection, shop_id: int) -> Any:
    row = conn.execute(select(shops).where(shops.c.id == shop_id)).first()
    if row is None:
        raise NotFoundError(f"shop {shop_id}")
    return row
