"""The program: defaults, validation (every problem at once, with its input's path), JSON form."""
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration.ports import LoyaltyError
from integration.program import (
    REWARD_KINDS,
    Benefits,
    Campaign,
    EarningBasis,
    MembershipPlan,
    Problem,
    Program,
    ProgramError,
    Reward,
    Tier,
    default_program,
    program_from_dict,
    program_to_dict,
    validate,
)

UTC = timezone.utc
JUNE = datetime(2025, 6, 1, tzinfo=UTC)


def test_default_program_has_the_documented_numbers():
    program = default_program()

    assert program.version == 1
    assert program.points_per_unit == Decimal("1")
    assert program.signup_bonus == 50
    assert min(r.points_cost for r in program.rewards) == 200
    assert {r.validity_days for r in program.rewards} == {30}
    assert program.tier_window_months == 12
    assert program.pending_days == 0
    assert program.reminder_every_days == 28
    assert program.expiry_months is None


def test_default_program_is_valid():
    assert validate(default_program()) == []


def test_validate_reports_every_problem_of_the_earning_settings_at_once():
    program = Program(version=0, points_per_unit=Decimal("0"), signup_bonus=-1, birthday_points=-5,
                      expiry_months=0, pending_days=366, reminder_every_days=0)

    assert validate(program) == [
        Problem("version", "must be 1 or more"),
        Problem("points_per_unit", "must be more than 0 and at most 1000"),
        Problem("signup_bonus", "must be 0 or more"),
        Problem("birthday_points", "must be 0 or more"),
        Problem("expiry_months", "must be 1 or more"),
        Problem("pending_days", "must be between 0 and 365"),
        Problem("reminder_every_days", "must be between 1 and 365"),
    ]


def test_validate_rejects_an_absurd_earn_rate_and_a_non_finite_one():
    assert validate(Program(points_per_unit=Decimal("1001"))) == [
        Problem("points_per_unit", "must be more than 0 and at most 1000")]
    assert validate(Program(points_per_unit=Decimal("NaN"))) == [
        Problem("points_per_unit", "not a finite number")]


def test_validate_names_the_reward_and_field_of_each_problem():
    rewards = (
        Reward("a", "Ten off", "amount_off", 100, Decimal("10")),
        Reward("a", "", "cashback", 0, validity_days=0),
        Reward("p", "Half off", "percent_off", 300, Decimal("100.01")),
        Reward("f", "Free mug", "free_product", 400, Decimal("0"), minimum_subtotal=Decimal("-1")),
        Reward(" ", "Trees", "donation", 500, Decimal("5"), product_ids=("",), validity_days=366),
    )

    assert validate(Program(rewards=rewards)) == [
        Problem("rewards[1].reward_id", "is used by another reward"),
        Problem("rewards[4].reward_id", "must not be empty"),
        Problem("rewards[1].name", "must not be empty"),
        Problem("rewards[1].kind", "must be one of " + ", ".join(REWARD_KINDS)),
        Problem("rewards[1].points_cost", "must be more than 0"),
        Problem("rewards[1].validity_days", "must be between 1 and 365"),
        Problem("rewards[2].value", "must be more than 0 and at most 100"),
        Problem("rewards[3].value", "must be more than 0"),
        Problem("rewards[3].product_ids", "a free product needs a product"),
        Problem("rewards[3].minimum_subtotal", "must be 0 or more"),
        Problem("rewards[4].cause", "a donation needs a cause"),
        Problem("rewards[4].product_ids", "has an empty product id"),
        Problem("rewards[4].validity_days", "must be between 1 and 365"),
    ]


def test_validate_accepts_every_reward_kind_when_complete():
    rewards = (
        Reward("amount", "$5 off", "amount_off", 200, Decimal("5")),
        Reward("percent", "100% off", "percent_off", 900, Decimal("100")),
        Reward("ship", "Free shipping", "free_shipping", 300),
        Reward("mug", "Free mug", "free_product", 400, Decimal("12.50"), product_ids=("p1",)),
        Reward("trees", "Plant a tree", "donation", 100, Decimal("1"), cause="Tree fund"),
    )

    assert validate(Program(rewards=rewards)) == []


def test_validate_checks_tier_names_order_multipliers_and_window():
    tiers = (
        Tier("Red", Decimal("0")),
        Tier("Gold", Decimal("500"), Decimal("1.5")),
        Tier("Gold", Decimal("500"), Decimal("0.5"), Benefits(member_discount_percent=Decimal("101"))),
        Tier("Onyx", Decimal("-1"), Decimal("101"), Benefits(birthday_points=-1)),
    )
    program = Program(tiers=tiers, tier_qualification="visits", tier_window_months=37)

    assert validate(program) == [
        Problem("tier_qualification", "must be one of spend, points, orders"),
        Problem("tier_window_months", "must be between 1 and 36"),
        Problem("tiers[2].name", "is used by another tier"),
        Problem("tiers[2].threshold", "must be higher than the tier before"),
        Problem("tiers[2].multiplier", "must be between 1 and 100"),
        Problem("tiers[2].benefits.member_discount_percent", "must be between 0 and 100"),
        Problem("tiers[3].threshold", "must be 0 or more"),
        Problem("tiers[3].threshold", "must be higher than the tier before"),
        Problem("tiers[3].multiplier", "must be between 1 and 100"),
        Problem("tiers[3].benefits.birthday_points", "must be 0 or more"),
    ]


def test_validate_wants_whole_order_counts_for_tiers_by_orders():
    program = Program(tiers=(Tier("Red", Decimal("0")), Tier("Gold", Decimal("2.5"))), tier_qualification="orders")

    assert validate(program) == [Problem("tiers[1].threshold", "must be a whole number of orders")]


def test_validate_checks_plans_and_a_product_in_two_plans():
    plans = (
        MembershipPlan("vip", "VIP", ("p1", "p2")),
        MembershipPlan("vip", "", (), period_months=0, multiplier=Decimal("0.9"), grace_days=-1),
        MembershipPlan("gold", "Gold", ("p2", ""), benefits=Benefits(member_discount_percent=Decimal("-1"))),
    )

    assert validate(Program(plans=plans)) == [
        Problem("plans[1].plan_id", "is used by another plan"),
        Problem("plans[1].name", "must not be empty"),
        Problem("plans[1].product_ids", "a plan needs at least one product"),
        Problem("plans[1].period_months", "must be 1 or more"),
        Problem("plans[1].multiplier", "must be between 1 and 100"),
        Problem("plans[1].grace_days", "must be between 0 and 365"),
        Problem("plans[2].product_ids", "has an empty product id"),
        Problem("plans[2].product_ids", "product p2 already belongs to plan vip"),
        Problem("plans[2].benefits.member_discount_percent", "must be between 0 and 100"),
    ]


def test_validate_wants_campaign_times_with_a_timezone_and_in_order():
    campaigns = (
        Campaign("double", "Double points", Decimal("2"), JUNE, JUNE + timedelta(days=7)),
        Campaign("double", "Naive", Decimal("0"), datetime(2025, 6, 1), datetime(2025, 6, 8)),
        Campaign("backwards", "Backwards", Decimal("3"), JUNE, JUNE),
    )

    assert validate(Program(campaigns=campaigns)) == [
        Problem("campaigns[1].campaign_id", "is used by another campaign"),
        Problem("campaigns[1].multiplier", "must be more than 0 and at most 100"),
        Problem("campaigns[1].starts_at", "must include a timezone"),
        Problem("campaigns[1].ends_at", "must include a timezone"),
        Problem("campaigns[2].ends_at", "must be after the start"),
    ]


def test_program_to_dict_is_json_ready_with_exact_decimals_and_offsets():
    eastern = timezone(timedelta(hours=-5))
    program = Program(points_per_unit=Decimal("1.25"), campaigns=(
        Campaign("bf", "Black Friday", Decimal("2"), datetime(2025, 11, 28, tzinfo=eastern),
                 datetime(2025, 12, 1, tzinfo=eastern)),))

    data = program_to_dict(program)

    assert data["points_per_unit"] == "1.25"
    assert data["campaigns"] == [{"campaign_id": "bf", "name": "Black Friday", "multiplier": "2",
                                  "starts_at": "2025-11-28T00:00:00-05:00",
                                  "ends_at": "2025-12-01T00:00:00-05:00", "active": True}]
    assert data["rewards"][0] == {"reward_id": "r200", "name": "$5 off", "kind": "amount_off",
                                  "points_cost": 200, "value": "5", "product_ids": [],
                                  "validity_days": 30, "minimum_subtotal": None, "cause": None,
                                  "enabled": True}
    assert json.loads(json.dumps(data)) == data


def test_program_from_dict_fills_defaults_for_missing_keys():
    assert program_from_dict({}) == default_program()
    assert program_from_dict({"signup_bonus": 10, "basis": {"include_shipping": True}}) == Program(
        signup_bonus=10, basis=EarningBasis(include_shipping=True))


def test_program_from_dict_accepts_json_numbers_and_numeric_strings():
    program = program_from_dict({"points_per_unit": 1.5, "signup_bonus": "75",
                                 "tiers": [{"name": "Gold", "threshold": 500}]})

    assert program.points_per_unit == Decimal("1.5")
    assert program.signup_bonus == 75
    assert program.tiers == (Tier("Gold", Decimal("500")),)


def test_program_from_dict_lists_every_unreadable_value_with_its_path():
    data = {
        "points_per_unit": "lots",
        "signup_bonus": True,
        "basis": {"include_taxes": "yes"},
        "rewards": [{"reward_id": "r1", "name": "One", "kind": "amount_off", "points_cost": 1.5},
                    {"reward_id": 7, "name": "Two", "kind": "amount_off", "points_cost": 100,
                     "value": "NaN", "product_ids": "p1"}],
        "tiers": {"Gold": 500},
        "campaigns": [{"campaign_id": "c", "name": "C", "multiplier": "2",
                       "starts_at": "yesterday", "ends_at": "2025-06-08T00:00:00+00:00"}],
        "expiry_months": None,
        "reminder_every_day": 7,
    }

    with pytest.raises(ProgramError) as raised:
        program_from_dict(data)

    assert raised.value.problems == [
        Problem("points_per_unit", "not a number"),
        Problem("basis.include_taxes", "not true or false"),
        Problem("signup_bonus", "not a whole number"),
        Problem("rewards[0].points_cost", "not a whole number"),
        Problem("rewards[1].reward_id", "not text"),
        Problem("rewards[1].value", "not a number"),
        Problem("rewards[1].product_ids", "not a list"),
        Problem("tiers", "not a list"),
        Problem("campaigns[0].starts_at", "not an ISO 8601 date-time"),
        Problem("reminder_every_day", "unknown setting"),
    ]
    assert str(raised.value).startswith("points_per_unit: not a number; basis.include_taxes:")
    assert isinstance(raised.value, LoyaltyError)


def test_program_from_dict_names_missing_required_keys_and_a_non_object():
    with pytest.raises(ProgramError) as raised:
        program_from_dict({"plans": [{"plan_id": "vip"}]})
    assert raised.value.problems == [Problem("plans[0].name", "required"),
                                     Problem("plans[0].product_ids", "required")]

    with pytest.raises(ProgramError) as raised:
        program_from_dict(["not", "a", "program"])  # type: ignore[arg-type]
    assert raised.value.problems == [Problem("", "not an object")]


def test_program_from_dict_does_not_validate():
    assert program_from_dict({"signup_bonus": -5}).signup_bonus == -5


# --- round trip ---------------------------------------------------------------------------------

texts = st.text(max_size=8)
ids = st.lists(texts, max_size=3).map(tuple)
integers = st.integers(min_value=-10**12, max_value=10**12)
decimals = st.decimals(allow_nan=False, allow_infinity=False)
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(timezones=st.none() | offsets)
benefits = st.builds(Benefits, free_shipping=st.booleans(), member_discount_percent=decimals,
                     birthday_points=integers)
programs = st.builds(
    Program,
    version=integers,
    points_per_unit=decimals,
    basis=st.builds(EarningBasis, st.booleans(), st.booleans(), st.booleans()),
    signup_bonus=integers,
    rewards=st.lists(st.builds(
        Reward, reward_id=texts, name=texts, kind=st.sampled_from(REWARD_KINDS) | texts,
        points_cost=integers, value=decimals, product_ids=ids, validity_days=integers,
        minimum_subtotal=st.none() | decimals, cause=st.none() | texts, enabled=st.booleans()),
        max_size=3).map(tuple),
    tiers=st.lists(st.builds(Tier, name=texts, threshold=decimals, multiplier=decimals,
                             benefits=benefits), max_size=3).map(tuple),
    tier_qualification=texts,
    tier_window_months=integers,
    plans=st.lists(st.builds(MembershipPlan, plan_id=texts, name=texts, product_ids=ids,
                             period_months=integers, multiplier=decimals, benefits=benefits,
                             grace_days=integers), max_size=2).map(tuple),
    campaigns=st.lists(st.builds(Campaign, campaign_id=texts, name=texts, multiplier=decimals,
                                 starts_at=moments, ends_at=moments, active=st.booleans()),
                       max_size=2).map(tuple),
    expiry_months=st.none() | integers,
    pending_days=integers,
    reminder_every_days=integers,
    reminders_skip_inactive=st.booleans(),
    birthday_points=integers,
)


@given(programs)
def test_any_program_survives_the_json_round_trip(program):
    assert program_from_dict(json.loads(json.dumps(program_to_dict(program)))) == program
