"""Points expiry as a pure FIFO fold over a member's ledger (STYLE: "Expiry is a pure FIFO fold
that emits `expire:<earn_id>` entries").

Every credit (positive entry) is a lot, with the expiry date the service gave it when it was
written (`expires_at_for`; None: never expires). Every debit (redemption, refund reversal,
adjustment) consumes the oldest lots that still hold points, in ledger order, whether or not
they are past their date: the balance a customer spent included them until an expiry entry was
written, and taking the oldest first leaves the fewest points to expire. An expiry entry
(`expire:<lot>`, `LedgerLine.lot_id` set) consumes its own lot and closes it, so running the fold
again after its results are written expires nothing more. A debit larger than everything held
leaves a debt that the next credits pay off first, so expiry never drives a balance below 0.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from integration.program import Program
from integration.rules.calendar import add_months


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One ledger entry of one member, as the fold needs it; pass them in ledger order.

    `expires_at`: on a credit, when its points expire (None: never); ignored on debits.
    `lot_id`: set only on an expiry entry (`expire:<lot_id>`): the credit entry it expires.
    """

    entry_id: int
    points: int
    at: datetime
    expires_at: datetime | None = None
    lot_id: int | None = None


@dataclass(frozen=True, slots=True)
class Lot:
    """A credit and the points of it not yet consumed by debits (`points`)."""

    entry_id: int
    points: int
    earned_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Expiry:
    """Points of one lot to expire now: write -`points` under `source_key`, with `lot_id` set."""

    lot_id: int
    points: int
    expires_at: datetime

    @property
    def source_key(self) -> str:
        return f"expire:{self.lot_id}"


def expires_at_for(earned_at: datetime, program: Program) -> datetime | None:
    """When points earned at `earned_at` expire under `program`: `expiry_months` later, or never."""
    if program.expiry_months is None:
        return None
    return add_months(earned_at, program.expiry_months)


def _fold(entries: Iterable[LedgerLine]) -> tuple[list[Lot], set[int]]:
    """Every lot with its unconsumed points, in ledger order, and the ids of expired lots."""
    lines: list[LedgerLine] = []
    remaining: list[int] = []
    index_of: dict[int, int] = {}
    closed: set[int] = set()
    head = 0  # every lot before `head` is empty
    debt = 0
    for line in entries:
        if line.points > 0:
            paid = min(debt, line.points)
            debt -= paid
            index_of[line.entry_id] = len(lines)
            lines.append(line)
            remaining.append(line.points - paid)
            continue
        owed = -line.points
        if line.lot_id is not None:
            closed.add(line.lot_id)
            own = index_of.get(line.lot_id)
            if own is not None:
                taken = min(owed, remaining[own])
                remaining[own] -= taken
                owed -= taken
        while owed > 0 and head < len(lines):
            taken = min(owed, remaining[head])
            remaining[head] -= taken
            owed -= taken
            if remaining[head] == 0:
                head += 1
        debt += owed
    lots = [Lot(line.entry_id, left, line.at, line.expires_at) for line, left in zip(lines, remaining)]
    return lots, closed


def open_lots(entries: Iterable[LedgerLine]) -> list[Lot]:
    """Lots that still hold points and have no expiry entry, oldest first."""
    lots, closed = _fold(entries)
    return [lot for lot in lots if lot.points > 0 and lot.entry_id not in closed]


def expired_points(entries: Iterable[LedgerLine], now: datetime) -> list[Expiry]:
    """For each lot past its date (expires_at <= now) that still holds points and has no expiry
    entry yet, the points to expire; oldest lot first."""
    return [Expiry(lot.entry_id, lot.points, lot.expires_at) for lot in open_lots(entries)
            if lot.expires_at is not None and lot.expires_at <= now]


def expiring_soon(entries: Iterable[LedgerLine], now: datetime, within_days: int) -> list[Lot]:
    """Lots that will expire after `now` and within `within_days` days, soonest first, with the
    points that will go (for expiry warnings: `lot.points` on `lot.expires_at`)."""
    horizon = now + timedelta(days=within_days)
    soon = [lot for lot in open_lots(entries)
            if lot.expires_at is not None and now < lot.expires_at <= horizon]
    return sorted(soon, key=lambda lot: lot.expires_at or now)
