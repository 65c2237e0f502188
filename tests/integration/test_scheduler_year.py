"""Time travel: one member walked through a year of daily job runs (`now` passed in, as
`loyalty jobs run NAME --now` does): reminders every 28 days, a lot expiring after its warning,
a membership renewed and then lapsing, a tier kept until its window ends, one birthday reward."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select, update

from integration.crypto import SecretBox
from integration.db.tables import emails, ledger_entries, members
from integration.events import Amounts, Customer, LineItem, OrderPaid
from integration.program import Benefits, MembershipPlan, Program, Tier, program_to_dict
from integration.redemption import update_program
from integration.services import record_order_paid
from integration.shops import add_shop
from integration.web.bootstrap import build_runtime
from scheduler.service import run_job
from tests.fakes import FakePlatform

START = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
DAILY = ("expire-points", "expire-codes", "memberships", "tiers", "birthdays", "reminders")
PROGRAM = Program(
    expiry_months=6, birthday_points=100,
    tiers=(Tier("Red", Decimal(0)), Tier("Gold", Decimal(500), Decimal("1.5"), Benefits(birthday_points=200))),
    plans=(MembershipPlan("vip", "VIP", ("p-vip",), period_months=1),),
)


def order(order_id: str, amount: str, paid_at: datetime, *, vip: bool = False) -> OrderPaid:
    lines = (LineItem("p-vip", None, 1, Decimal(amount)),) if vip else ()
    return OrderPaid(order_id=order_id, customer=Customer("c1", email="ann@example.com", accepts_marketing=True),
                     paid_at=paid_at, currency="USD", amounts=Amounts(merchandise=Decimal(amount)), line_items=lines)


def test_a_year_of_jobs(settings, db):  # type: ignore[no-untyped-def]
    runtime = build_runtime(settings, platforms={"fake": FakePlatform()}, db=db)
    with db.write() as conn:
        shop_id = add_shop(conn, SecretBox("", "k"), platform="fake", domain="year.example", now=START)
        update_program(conn, shop_id, program_to_dict(PROGRAM), START)
        record_order_paid(conn, shop_id, order("o1", "600.00", START), START)  # 600 points, then Gold at once
        conn.execute(update(members).values(birthday=date(2000, 3, 15)))
    purchases = {START + timedelta(days=10): order("vip1", "20.00", START + timedelta(days=10), vip=True),
                 START + timedelta(days=35): order("vip2", "20.00", START + timedelta(days=35), vip=True)}
    # when every job runs once a day at noon for a year and a day (twice on the birthday)
    day = START.replace(hour=12)
    while day <= datetime(2027, 1, 2, 12, tzinfo=timezone.utc):
        for paid_at, paid in purchases.items():
            if paid_at.date() == day.date():
                with db.write() as conn:
                    record_order_paid(conn, shop_id, paid, paid_at)
        for job in DAILY:
            run_job(runtime, job, day, shop_id)
        if day.month == 3 and day.day == 15:
            run_job(runtime, "birthdays", day + timedelta(hours=1), shop_id)
        day += timedelta(days=1)
    # then
    with db.read() as conn:
        mails = conn.execute(select(emails.c.kind, emails.c.created_at).order_by(emails.c.id)).fetchall()
        entries = {row.source_key: row for row in conn.execute(select(ledger_entries))}
        member = conn.execute(select(members)).one()
    sent = lambda kind: [(row.created_at.date() - START.date()).days for row in mails if row.kind == kind]  # noqa: E731
    assert sent("reminder") == list(range(28, 366, 28))
    earn = entries["order:o1:earn"]
    assert earn.points == 600  # the order that reaches Gold earns at the tier the member had
    expired = entries[f"expire:{earn.id}"]
    assert expired.points == -600  # nothing was spent: the whole lot expires
    assert expired.created_at.date() == date(2026, 7, 1)
    # one warning per lot, 14 days before each: o1 (1 Jul), vip1 (11 Jul), vip2 (5 Aug)
    assert sent("points_expiring") == [(date(2026, m, d) - START.date()).days for m, d in ((6, 17), (6, 27), (7, 22))]
    # the membership: bought on day 10 (to 11 Feb), renewed on day 35 (to 11 Mar), lapsed then
    assert sent("membership_ending") == [(date(2026, 2, 4) - START.date()).days, (date(2026, 3, 4) - START.date()).days]
    assert sent("membership_ended") == [(date(2026, 3, 11) - START.date()).days]
    assert member.plan_id is None
    # Gold kept all year although spend fell away, lowered at the end of the window, warned before
    assert sent("tier_ending") == [(date(2026, 12, 18) - START.date()).days]
    assert member.tier == "Red"
    # one birthday reward, Gold-sized, on the day
    birthday = entries["birthday:c1:2026"]
    assert (birthday.points, birthday.created_at.date()) == (200, date(2026, 3, 15))
    assert [key for key in entries if key.startswith("birthday:")] == ["birthday:c1:2026"]
