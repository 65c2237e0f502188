"""Tiers over a rolling window: promotion at once, demotion only at the window's end."""
from datetime import datetime, timezone
from decimal import Decimal

from integration.program import Program, Tier
from integration.rules.calendar import add_months
from integration.rules.tiers import (
    Qualifying,
    TierDecision,
    next_tier,
    qualifying_total,
    tier_after,
    tier_for,
    window_start,
)

UTC = timezone.utc
NOW = datetime(2025, 6, 15, 9, 30, tzinfo=UTC)
NEXT_YEAR = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
RED, GOLD, PLATINUM = Tier("Red", Decimal("0")), Tier("Gold", Decimal("500")), Tier("Platinum", Decimal("1500"))
PROGRAM = Program(tiers=(RED, GOLD, PLATINUM))


def test_add_months_keeps_the_day_and_time():
    assert add_months(NOW, 12) == NEXT_YEAR
    assert add_months(NOW, -18) == datetime(2023, 12, 15, 9, 30, tzinfo=UTC)


def test_add_months_clamps_to_the_end_of_a_shorter_month():
    assert add_months(datetime(2025, 1, 31, tzinfo=UTC), 1) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2025, 3, 31, tzinfo=UTC), -1) == datetime(2025, 2, 28, tzinfo=UTC)


def test_tier_for_picks_the_highest_threshold_reached():
    assert tier_for(Decimal("0"), PROGRAM) == "Red"
    assert tier_for(Decimal("499.99"), PROGRAM) == "Red"
    assert tier_for(Decimal("500"), PROGRAM) == "Gold"
    assert tier_for(Decimal("99999"), PROGRAM) == "Platinum"


def test_tier_for_is_none_below_every_threshold_or_without_tiers():
    assert tier_for(Decimal("10"), Program(tiers=(GOLD,))) is None
    assert tier_for(Decimal("10"), Program()) is None


def test_tier_for_ranks_by_threshold_not_by_list_order():
    assert tier_for(Decimal("600"), Program(tiers=(PLATINUM, GOLD, RED))) == "Gold"


def test_qualifying_total_sums_the_window_under_the_program_basis():
    activity = [
        Qualifying(datetime(2024, 6, 15, 9, 30, tzinfo=UTC), Decimal("1000"), 1000, 1),  # just outside
        Qualifying(datetime(2024, 6, 15, 9, 31, tzinfo=UTC), Decimal("120.50"), 120, 1),
        Qualifying(datetime(2025, 3, 1, tzinfo=UTC), Decimal("0"), 50, 0),  # signup bonus
        Qualifying(NOW, Decimal("79.50"), 79, 1),
        Qualifying(datetime(2025, 6, 16, tzinfo=UTC), Decimal("999"), 999, 1),  # after now
    ]

    assert window_start(PROGRAM, NOW) == datetime(2024, 6, 15, 9, 30, tzinfo=UTC)
    assert qualifying_total(activity, PROGRAM, NOW) == Decimal("200.00")
    assert qualifying_total(activity, Program(tier_qualification="points"), NOW) == Decimal("249")
    assert qualifying_total(activity, Program(tier_qualification="orders"), NOW) == Decimal("2")


def test_qualifying_total_is_never_negative():
    assert qualifying_total([Qualifying(NOW, Decimal("-5"))], PROGRAM, NOW) == Decimal("0")


def test_a_new_member_gets_the_tier_their_value_supports_at_once():
    decision = tier_after(current=None, current_until=None, qualifying_value=Decimal("40"),
                          program=PROGRAM, now=NOW)

    assert decision == TierDecision("Red", NEXT_YEAR, True, "promoted")


def test_a_member_below_every_tier_stays_without_one():
    decision = tier_after(current=None, current_until=None, qualifying_value=Decimal("40"),
                          program=Program(tiers=(GOLD,)), now=NOW)

    assert decision == TierDecision(None, None, False, "no tier")


def test_promotion_is_immediate_with_a_fresh_window():
    # given Red until September; when the total reaches Platinum in June
    decision = tier_after(current="Red", current_until=datetime(2025, 9, 1, tzinfo=UTC),
                          qualifying_value=Decimal("1500"), program=PROGRAM, now=NOW)
    # then Platinum at once, for twelve months from now
    assert decision == TierDecision("Platinum", NEXT_YEAR, True, "promoted")


def test_the_same_tier_is_kept_inside_its_window():
    until = datetime(2025, 9, 1, tzinfo=UTC)

    decision = tier_after(current="Gold", current_until=until, qualifying_value=Decimal("700"),
                          program=PROGRAM, now=NOW)

    assert decision == TierDecision("Gold", until, False, "kept")


def test_the_same_tier_is_renewed_when_its_window_ends():
    decision = tier_after(current="Gold", current_until=NOW, qualifying_value=Decimal("700"),
                          program=PROGRAM, now=NOW)

    assert decision == TierDecision("Gold", NEXT_YEAR, False, "renewed")


def test_a_lower_total_does_not_demote_before_the_window_ends():
    until = datetime(2025, 9, 1, tzinfo=UTC)

    decision = tier_after(current="Platinum", current_until=until, qualifying_value=Decimal("10"),
                          program=PROGRAM, now=NOW)

    assert decision == TierDecision("Platinum", until, False, "kept")


def test_demotion_at_the_window_end_goes_to_the_supported_tier_with_a_new_window():
    decision = tier_after(current="Platinum", current_until=NOW, qualifying_value=Decimal("600"),
                          program=PROGRAM, now=NOW)

    assert decision == TierDecision("Gold", NEXT_YEAR, True, "demoted")


def test_demotion_below_every_tier_leaves_no_tier_and_no_window():
    decision = tier_after(current="Gold", current_until=NOW, qualifying_value=Decimal("10"),
                          program=Program(tiers=(GOLD,)), now=NOW)

    assert decision == TierDecision(None, None, True, "demoted")


def test_a_tier_deleted_from_the_program_is_replaced_at_once():
    decision = tier_after(current="Onyx", current_until=datetime(2025, 9, 1, tzinfo=UTC),
                          qualifying_value=Decimal("600"), program=PROGRAM, now=NOW)

    assert decision == TierDecision("Gold", NEXT_YEAR, True, "tier removed")


def test_next_tier_counts_from_the_value():
    assert next_tier(Decimal("120"), "Red", PROGRAM) == (GOLD, Decimal("380"))
    assert next_tier(Decimal("120"), None, PROGRAM) == (GOLD, Decimal("380"))


def test_next_tier_is_above_a_tier_kept_through_its_window():
    # given Gold kept for its window while the total has fallen to Red's range
    assert next_tier(Decimal("120"), "Gold", PROGRAM) == (PLATINUM, Decimal("1380"))


def test_next_tier_is_none_at_the_top():
    assert next_tier(Decimal("2000"), "Platinum", PROGRAM) == (None, Decimal("0"))
    assert next_tier(Decimal("2000"), "Red", PROGRAM) == (None, Decimal("0"))
