"""Points earned by an order and given back by its refunds (THE rounding rule)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from integration.events import Amounts, Customer, OrderPaid
from integration.program import Campaign, EarningBasis, MembershipPlan, Program, Tier
from integration.rules.points import (
    Earned,
    Skipped,
    earn_multiplier,
    eligible_amount,
    floor_points,
    points_for_order,
    points_to_reverse,
)

UTC = timezone.utc
PAID_AT = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
AMOUNTS = Amounts(merchandise=Decimal("80.50"), shipping=Decimal("7.00"), taxes=Decimal("6.44"),
                  gift_cards=Decimal("25.00"), tips=Decimal("5.00"))


def order(merchandise: str | Decimal, order_id: str = "1001", paid_at: datetime = PAID_AT) -> OrderPaid:
    return OrderPaid(order_id=order_id, customer=Customer("c1"), paid_at=paid_at, currency="USD",
                     amounts=Amounts(merchandise=Decimal(merchandise)))


def test_eligible_amount_is_merchandise_only_by_default():
    assert eligible_amount(AMOUNTS, EarningBasis()) == Decimal("80.50")


def test_eligible_amount_adds_what_the_basis_includes_but_never_tips():
    basis = EarningBasis(include_shipping=True, include_taxes=True, include_gift_cards=True)

    assert eligible_amount(AMOUNTS, basis) == Decimal("118.94")


def test_eligible_amount_is_never_negative():
    assert eligible_amount(Amounts(merchandise=Decimal("-3")), EarningBasis()) == Decimal("0")


def test_floor_points_floors_once():
    assert floor_points(Decimal("80.99")) == 80
    assert floor_points(Decimal("0.999")) == 0


def test_an_order_earns_one_point_per_whole_dollar_by_default():
    # given $80.50 of merchandise under the default program
    # when
    earned = points_for_order(order("80.50"), Program(), tier=None, plan_ids=())
    # then
    assert earned == Earned("order:1001:earn", 80, Decimal("80.50"), Decimal("1"))


def test_an_order_under_one_point_is_skipped():
    assert points_for_order(order("0.99"), Program(), tier=None, plan_ids=()) == Skipped("nothing eligible")


def test_tier_plan_and_campaign_multiply_before_the_single_floor():
    # given Gold 1.5x, the best of two plans 1.2x and a 2x campaign on $33.33 at 1 point per $
    program = Program(
        tiers=(Tier("Red", Decimal("0")), Tier("Gold", Decimal("500"), Decimal("1.5"))),
        plans=(MembershipPlan("basic", "Basic", ("p1",), multiplier=Decimal("1.1")),
               MembershipPlan("plus", "Plus", ("p2",), multiplier=Decimal("1.2"))),
        campaigns=(Campaign("double", "Double", Decimal("2"), PAID_AT, PAID_AT + timedelta(days=1)),),
    )
    # when
    multiplier = earn_multiplier(program, tier="Gold", plan_ids=("basic", "plus"), paid_at=PAID_AT)
    earned = points_for_order(order("33.33"), program, tier="Gold", plan_ids=("basic", "plus"))
    # then floor(33.33 × 3.6 = 119.988) = 119; flooring the dollars first would give 118
    assert multiplier == Decimal("3.6")
    assert earned == Earned("order:1001:earn", 119, Decimal("33.33"), Decimal("3.6"))


def test_a_campaign_counts_only_while_active_and_inside_its_window():
    window = Campaign("double", "Double", Decimal("2"), PAID_AT, PAID_AT + timedelta(days=1))
    stopped = Campaign("stopped", "Stopped", Decimal("3"), PAID_AT, PAID_AT + timedelta(days=1), active=False)
    program = Program(campaigns=(window, stopped))

    assert earn_multiplier(program, tier=None, plan_ids=(), paid_at=PAID_AT) == Decimal("2")
    assert earn_multiplier(program, tier=None, plan_ids=(), paid_at=PAID_AT + timedelta(days=1)) == Decimal("1")
    assert earn_multiplier(program, tier=None, plan_ids=(), paid_at=PAID_AT - timedelta(seconds=1)) == Decimal("1")


def test_two_partial_refunds_take_back_exactly_what_the_order_earned():
    # given an order of $100.00 that earned 150 points
    earned, eligible = 150, Decimal("100.00")
    # when $33.33 and then $66.67 are refunded
    first = points_to_reverse(earned_points=earned, order_eligible=eligible,
                              refunded_before=Decimal("0"), refund_eligible=Decimal("33.33"))
    second = points_to_reverse(earned_points=earned, order_eligible=eligible,
                               refunded_before=Decimal("33.33"), refund_eligible=Decimal("66.67"))
    # then floor(150 × 0.3333) = 49, and the rest (101) comes back with the last refund
    assert (first, second) == (49, 101)


def test_a_refund_beyond_the_eligible_amount_takes_back_nothing_more():
    assert points_to_reverse(earned_points=80, order_eligible=Decimal("80.50"),
                             refunded_before=Decimal("80.50"), refund_eligible=Decimal("7.00")) == 0


def test_an_order_that_earned_nothing_gives_nothing_back():
    assert points_to_reverse(earned_points=0, order_eligible=Decimal("0.50"),
                             refunded_before=Decimal("0"), refund_eligible=Decimal("0.50")) == 0
    assert points_to_reverse(earned_points=10, order_eligible=Decimal("0"),
                             refunded_before=Decimal("0"), refund_eligible=Decimal("5")) == 0


cents = st.integers(min_value=1, max_value=10**9).map(lambda c: Decimal(c) / 100)


@st.composite
def refunds_of(draw):
    """(P, E, refunds) with refunds summing to E, then possibly some overshoot."""
    points = draw(st.integers(min_value=1, max_value=10**8))
    total_cents = draw(st.integers(min_value=1, max_value=10**9))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=total_cents), max_size=8)))
    edges = [0, *cuts, total_cents]
    parts = [Decimal(b - a) / 100 for a, b in zip(edges, edges[1:])]
    overshoot = draw(st.lists(cents, max_size=2))
    return points, Decimal(total_cents) / 100, parts + overshoot


@given(refunds_of())
def test_partial_refunds_summing_to_the_order_take_back_exactly_its_points(case):
    earned, eligible, refunds = case
    refunded, total = Decimal("0"), 0
    for amount in refunds:
        step = points_to_reverse(earned_points=earned, order_eligible=eligible,
                                 refunded_before=refunded, refund_eligible=amount)
        refunded += amount
        total += step
        assert step >= 0
        assert total <= earned
    assert total == earned


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9),
       st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2))
def test_points_for_order_never_drop_when_the_order_grows(a, b, rate):
    program = Program(points_per_unit=rate)
    small, large = sorted((Decimal(a) / 100, Decimal(b) / 100))

    def points(amount: Decimal) -> int:
        result = points_for_order(order(amount), program, tier=None, plan_ids=())
        return result.points if isinstance(result, Earned) else 0

    assert points(small) <= points(large)
