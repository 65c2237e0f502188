"""Points expiry as a FIFO fold over a member's ledger."""
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from integration.program import Program
from integration.rules.expiry import (
    Expiry,
    LedgerLine,
    Lot,
    expired_points,
    expires_at_for,
    expiring_soon,
    open_lots,
)

UTC = timezone.utc
JAN, FEB, MAR = (datetime(2024, m, 1, tzinfo=UTC) for m in (1, 2, 3))
NEXT_JAN, NEXT_FEB, NEXT_MAR = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 2, 3))


def test_expires_at_for_follows_the_program():
    assert expires_at_for(datetime(2024, 1, 31, tzinfo=UTC), Program(expiry_months=13)) == datetime(
        2025, 2, 28, tzinfo=UTC)
    assert expires_at_for(JAN, Program()) is None


def test_a_redemption_spends_the_oldest_points_first():
    # given 100 points earned in January, 80 in February, then 120 spent in March
    ledger = [
        LedgerLine(1, 100, JAN, expires_at=NEXT_JAN),
        LedgerLine(2, 80, FEB, expires_at=NEXT_FEB),
        LedgerLine(3, -120, MAR),
    ]
    # when a year later both lots are past their date
    expiries = expired_points(ledger, NEXT_MAR)
    # then January's lot is used up and 60 of February's expire
    assert expiries == [Expiry(2, 60, NEXT_FEB)]
    assert expiries[0].source_key == "expire:2"


def test_only_lots_past_their_date_expire():
    ledger = [LedgerLine(1, 100, JAN, expires_at=NEXT_JAN), LedgerLine(2, 80, FEB, expires_at=NEXT_FEB)]

    assert expired_points(ledger, NEXT_JAN - timedelta(seconds=1)) == []
    assert expired_points(ledger, NEXT_JAN) == [Expiry(1, 100, NEXT_JAN)]


def test_points_without_an_expiry_date_never_expire():
    ledger = [LedgerLine(1, 50, JAN), LedgerLine(2, 100, FEB, expires_at=NEXT_FEB), LedgerLine(3, -30, MAR)]

    assert expired_points(ledger, datetime(2099, 1, 1, tzinfo=UTC)) == [Expiry(2, 100, NEXT_FEB)]


def test_a_lot_with_an_expiry_entry_is_closed():
    # given January's lot already expired by entry 3 (the job ran on time)
    ledger = [
        LedgerLine(1, 100, JAN, expires_at=NEXT_JAN),
        LedgerLine(2, 80, FEB, expires_at=NEXT_FEB),
        LedgerLine(3, -100, NEXT_JAN, lot_id=1),
        LedgerLine(4, -50, NEXT_JAN + timedelta(days=1)),
    ]
    # then the later spend came out of February's lot, and only its rest expires
    assert expired_points(ledger, NEXT_MAR) == [Expiry(2, 30, NEXT_FEB)]


def test_spending_before_the_job_writes_the_expiry_uses_the_overdue_lot():
    # given the January lot was still in the balance when 40 were spent after its date
    ledger = [LedgerLine(1, 100, JAN, expires_at=NEXT_JAN), LedgerLine(2, -40, NEXT_FEB)]

    assert expired_points(ledger, NEXT_MAR) == [Expiry(1, 60, NEXT_JAN)]


def test_a_negative_balance_is_paid_off_by_the_next_credit_first():
    # given a refund reversal larger than the balance (points already spent), then a new order
    ledger = [
        LedgerLine(1, 100, JAN, expires_at=NEXT_JAN),
        LedgerLine(2, -130, FEB),
        LedgerLine(3, 50, MAR, expires_at=NEXT_MAR),
    ]
    # then only the 20 points of the balance are left to expire
    assert expired_points(ledger, NEXT_MAR) == [Expiry(3, 20, NEXT_MAR)]
    assert open_lots(ledger) == [Lot(3, 20, MAR, NEXT_MAR)]


def test_expiring_soon_lists_lots_due_within_the_window_soonest_first():
    ledger = [
        LedgerLine(1, 100, JAN, expires_at=NEXT_FEB),
        LedgerLine(2, 80, FEB, expires_at=NEXT_JAN),
        LedgerLine(3, 70, MAR, expires_at=NEXT_MAR),
        LedgerLine(4, -30, MAR),
    ]
    now = NEXT_JAN - timedelta(days=1)

    assert expiring_soon(ledger, now, 31) == [Lot(2, 80, FEB, NEXT_JAN)]
    assert expiring_soon(ledger, now, 32) == [Lot(2, 80, FEB, NEXT_JAN), Lot(1, 70, JAN, NEXT_FEB)]
    assert expiring_soon(ledger, NEXT_JAN, 31) == [Lot(1, 70, JAN, NEXT_FEB)]


@st.composite
def ledgers(draw):
    """A member's ledger: credits with or without dates, plain debits, and expiry entries."""
    lines, lots = [], []
    for entry_id in range(1, draw(st.integers(min_value=0, max_value=25)) + 1):
        at = JAN + timedelta(days=entry_id)
        choice = draw(st.sampled_from(["credit", "credit", "debit", "expire"]))
        if choice == "credit":
            expires = draw(st.none() | st.integers(min_value=0, max_value=800).map(lambda d: JAN + timedelta(days=d)))
            lines.append(LedgerLine(entry_id, draw(st.integers(min_value=1, max_value=500)), at, expires_at=expires))
            lots.append(entry_id)
        elif choice == "debit" or not lots:
            lines.append(LedgerLine(entry_id, -draw(st.integers(min_value=1, max_value=500)), at))
        else:
            lines.append(LedgerLine(entry_id, -draw(st.integers(min_value=1, max_value=500)), at,
                                    lot_id=draw(st.sampled_from(lots))))
    return lines


@given(ledgers(), st.integers(min_value=0, max_value=900))
def test_expiry_never_takes_more_than_is_held_and_a_second_run_takes_nothing(ledger, days):
    now = JAN + timedelta(days=days)
    held = sum(lot.points for lot in open_lots(ledger))

    expiries = expired_points(ledger, now)

    assert all(e.points > 0 for e in expiries)
    assert sum(e.points for e in expiries) <= held
    assert sum(e.points for e in expiries) <= max(sum(line.points for line in ledger), 0)  # the balance
    written = ledger + [LedgerLine(1000 + i, -e.points, now, lot_id=e.lot_id) for i, e in enumerate(expiries)]
    assert expired_points(written, now) == []
