"""Jobs one by one: reward codes closing, pending points becoming spendable, and every job being
idempotent and resumable (run twice, or stopped half-way and run again: nothing more changes)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from integration.crypto import SecretBox
from integration.db import repo
from integration.db.tables import emails, ledger_entries, members, outbox, redemptions
from integration.events import Amounts, Customer, LineItem, OrderPaid
from integration.program import Benefits, MembershipPlan, Program, Tier, program_to_dict
from integration.redemption import redeem, update_program
from integration.services import record_order_paid
from integration.shops import add_shop
from integration.web.bootstrap import build_runtime
from scheduler import jobs
from scheduler.jobs import JOBS
from scheduler.service import run_job
from tests.fakes import FakePlatform

T0 = datetime(2026, 1, 1, 10, tzinfo=timezone.utc)


@pytest.fixture
def shop(settings, db):  # type: ignore[no-untyped-def]
    runtime = build_runtime(settings, platforms={"fake": FakePlatform()}, db=db)
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "k"), platform="fake", domain="jobs.example", now=T0)
    return runtime, shop_id


def set_program(runtime, shop_id: int, program: Program) -> None:  # type: ignore[no-untyped-def]
    with runtime.db.write() as conn:
        update_program(conn, shop_id, program_to_dict(program), T0)


def paid(runtime, shop_id: int, order_id: str, customer: str, amount: str, at: datetime,  # type: ignore[no-untyped-def]
         lines: tuple[LineItem, ...] = (), codes: tuple[str, ...] = ()) -> None:
    with runtime.db.write() as conn:
        record_order_paid(conn, shop_id, OrderPaid(
            order_id, Customer(customer, email=f"{customer}@example.com", accepts_marketing=True), at, "USD",
            Amounts(merchandise=Decimal(amount)), line_items=lines, discount_codes=codes), at)


def balance_and_spendable(runtime, shop_id: int, customer: str, now: datetime) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with runtime.db.read() as conn:
        member = conn.execute(select(members).where(members.c.customer_id == customer)).one()
        return member.balance, repo.spendable_points(conn, shop_id, member.id, now)


def test_pending_points_become_spendable_after_the_pending_period(shop):  # type: ignore[no-untyped-def]
    runtime, shop_id = shop
    set_program(runtime, shop_id, Program(pending_days=14, signup_bonus=0))
    paid(runtime, shop_id, "o1", "c1", "300.00", T0)
    assert balance_and_spendable(runtime, shop_id, "c1", T0 + timedelta(days=13)) == (300, 0)
    assert balance_and_spendable(runtime, shop_id, "c1", T0 + timedelta(days=14)) == (300, 300)


def test_unused_codes_expire_with_points_back_and_used_ones_are_marked_used(shop):  # type: ignore[no-untyped-def]
    runtime, shop_id = shop
    set_program(runtime, shop_id, Program(return_points_for_expired_codes=True, signup_bonus=0))
    paid(runtime, shop_id, "o1", "c1", "500.00", T0)
    with runtime.db.write() as conn:
        member_id = conn.execute(select(members.c.id)).scalar_one()
        unused = redeem(conn, shop_id, member_id, "r200", T0, random_bytes=lambda n: b"\x01" * n)
        used = redeem(conn, shop_id, member_id, "r200", T0, random_bytes=lambda n: b"\x02" * n)
        conn.execute(update(redemptions).values(status="issued", remote_id="fake/1"))
    paid(runtime, shop_id, "o2", "c1", "10.00", T0 + timedelta(days=3), codes=(used.code.lower(),))
    # when the job runs the day after the codes' 30 days
    result = run_job(runtime, "expire-codes", T0 + timedelta(days=31), shop_id)[0]
    again = run_job(runtime, "expire-codes", T0 + timedelta(days=32), shop_id)[0]
    # then
    with runtime.db.read() as conn:
        statuses = dict(conn.execute(select(redemptions.c.code, redemptions.c.status)).all())
        deletes = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.kind == "delete_discount_code")).scalar_one()
    assert statuses == {unused.code: "expired", used.code: "used"}
    assert (result.changed, again.changed, deletes) == (2, 0, 1)
    assert balance_and_spendable(runtime, shop_id, "c1", T0 + timedelta(days=32))[0] == 500 - 400 + 200 + 10


def year_of_activity(runtime, shop_id: int) -> None:  # type: ignore[no-untyped-def]
    """A few members with lots to expire, tiers to lower, a membership ending and birthdays."""
    set_program(runtime, shop_id, Program(
        expiry_months=1, birthday_points=10, tier_window_months=1,
        tiers=(Tier("Red", Decimal(0)), Tier("Gold", Decimal(100), benefits=Benefits(birthday_points=20))),
        plans=(MembershipPlan("vip", "VIP", ("p-vip",), period_months=1),)))
    for index in range(7):
        paid(runtime, shop_id, f"o{index}", f"c{index}", "150.00", T0, lines=(LineItem("p-vip", None, 1, Decimal("5")),))
    with runtime.db.write() as conn:
        conn.execute(update(members).values(birthday=date(2000, 2, 15)))


def snapshot(runtime) -> tuple:  # type: ignore[no-untyped-def]
    with runtime.db.read() as conn:
        return (conn.execute(select(func.count(), func.sum(ledger_entries.c.points))).one()[:],
                conn.execute(select(func.count()).select_from(emails)).scalar_one(),
                conn.execute(select(func.count()).select_from(outbox)).scalar_one(),
                sorted(conn.execute(select(members.c.tier, members.c.plan_id, members.c.last_reminder_at)).all()))


def test_every_job_run_twice_changes_nothing_the_second_time(shop):  # type: ignore[no-untyped-def]
    runtime, shop_id = shop
    year_of_activity(runtime, shop_id)
    moment = datetime(2026, 2, 15, 12, tzinfo=timezone.utc)
    names = [name for name in JOBS if name not in ("reconcile", "repair-webhooks", "outbox")]
    first = {name: run_job(runtime, name, moment, shop_id)[0].changed for name in names}
    after_first = snapshot(runtime)
    second = {name: run_job(runtime, name, moment + timedelta(minutes=5), shop_id)[0].changed for name in names}
    assert all(first[name] > 0 for name in ("expire-points", "memberships", "tiers", "birthdays", "reminders")), first
    assert second == {name: 0 for name in names}
    assert snapshot(runtime) == after_first


def test_a_job_stopped_half_way_finishes_on_the_next_run_without_repeating(shop, monkeypatch):  # type: ignore[no-untyped-def]
    runtime, shop_id = shop
    year_of_activity(runtime, shop_id)
    moment = datetime(2026, 2, 15, 12, tzinfo=timezone.utc)
    monkeypatch.setattr(jobs, "BATCH", 2)
    calls = {"n": 0}
    real = jobs.notify.reminders

    def dies_on_the_third_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs.notify, "reminders", dies_on_the_third_batch)
    with pytest.raises(RuntimeError):
        jobs.reminders(runtime, shop_id, moment)
    with runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(emails).where(emails.c.kind == "reminder")).scalar_one() == 4
    finished = jobs.reminders(runtime, shop_id, moment)
    with runtime.db.read() as conn:
        reminders = conn.execute(select(emails.c.member_id).where(emails.c.kind == "reminder")).scalars().all()
    assert finished.changed == 3
    assert sorted(reminders) == sorted(set(reminders)) and len(reminders) == 7
