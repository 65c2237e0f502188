"""The rewards catalog against a balance, and the codes a redemption writes into the store."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration.ports import DiscountCode
from integration.program import Program, Reward
from integration.rules.rewards import (
    CODE_ALPHABET,
    claimable,
    discount_code_for,
    find_reward,
    new_code,
    next_reward,
)

UTC = timezone.utc
NOW = datetime(2025, 6, 15, 9, 30, tzinfo=UTC)
FIVE_OFF = Reward("r200", "$5 off", "amount_off", 200, Decimal("5"))
SHIPPING = Reward("ship300", "Free shipping", "free_shipping", 300)
FIFTEEN_OFF = Reward("r500", "$15 off", "amount_off", 500, Decimal("15"))
HIDDEN = Reward("r100", "Retired", "amount_off", 100, Decimal("2"), enabled=False)
PROGRAM = Program(rewards=(FIFTEEN_OFF, HIDDEN, FIVE_OFF, SHIPPING))


def test_claimable_lists_enabled_rewards_the_balance_pays_for_cheapest_first():
    assert claimable(0, PROGRAM) == ()
    assert claimable(199, PROGRAM) == ()
    assert claimable(300, PROGRAM) == (FIVE_OFF, SHIPPING)
    assert claimable(10_000, PROGRAM) == (FIVE_OFF, SHIPPING, FIFTEEN_OFF)


def test_next_reward_is_the_cheapest_enabled_one_not_yet_reached():
    assert next_reward(0, PROGRAM) == (FIVE_OFF, 200)
    assert next_reward(120, PROGRAM) == (FIVE_OFF, 80)
    assert next_reward(200, PROGRAM) == (SHIPPING, 100)
    assert next_reward(499, PROGRAM) == (FIFTEEN_OFF, 1)


def test_next_reward_is_none_when_everything_is_affordable_or_nothing_is_offered():
    assert next_reward(500, PROGRAM) == (None, 0)
    assert next_reward(0, Program(rewards=(HIDDEN,))) == (None, 0)


def test_find_reward_finds_disabled_rewards_too():
    assert find_reward(PROGRAM, "r100") == HIDDEN
    assert find_reward(PROGRAM, "nope") is None


def test_an_amount_off_reward_becomes_a_code_for_that_customer_for_30_days():
    code = discount_code_for(FIVE_OFF, code="LOYAL-7KQ2-M9XD", customer_id="c1", email="a@example.com", now=NOW)

    assert code == DiscountCode(code="LOYAL-7KQ2-M9XD", kind="amount_off", value=Decimal("5"), customer_id="c1",
                                customer_email="a@example.com", starts_at=NOW,
                                ends_at=datetime(2025, 7, 15, 9, 30, tzinfo=UTC), title="$5 off")


def test_a_free_product_code_is_restricted_to_its_products_and_keeps_the_minimum():
    mug = Reward("mug", "Free mug", "free_product", 400, Decimal("12.50"), product_ids=("p1", "p2"),
                 validity_days=7, minimum_subtotal=Decimal("20"))

    code = discount_code_for(mug, code="LOYAL-AAAA-BBBB", customer_id="c1", email=None, now=NOW)

    assert code == DiscountCode(code="LOYAL-AAAA-BBBB", kind="free_product", value=Decimal("12.50"),
                                customer_id="c1", customer_email=None, starts_at=NOW,
                                ends_at=datetime(2025, 6, 22, 9, 30, tzinfo=UTC), title="Free mug",
                                product_ids=("p1", "p2"), minimum_subtotal=Decimal("20"))


def test_a_donation_writes_no_code():
    trees = Reward("trees", "Plant a tree", "donation", 100, Decimal("1"), cause="Tree fund")

    assert discount_code_for(trees, code="X", customer_id="c1", email=None, now=NOW) is None


def test_new_code_reads_five_bytes_as_eight_unambiguous_symbols():
    assert new_code("loyal", bytes(5)) == "LOYAL-2222-2222"
    assert new_code("LOYAL", b"\xff" * 5) == "LOYAL-ZZZZ-ZZZZ"
    assert new_code("", bytes([0, 0, 0, 0, 1])) == "2222-2223"
    assert new_code("VIP", bytes(5) + b"ignored") == "VIP-2222-2222"


def test_new_code_refuses_too_few_bytes_or_an_odd_prefix():
    with pytest.raises(ValueError):
        new_code("LOYAL", bytes(4))
    with pytest.raises(ValueError):
        new_code("LOY AL", bytes(5))


def test_the_code_alphabet_avoids_look_alike_symbols():
    assert len(set(CODE_ALPHABET)) == 32
    assert set(CODE_ALPHABET).isdisjoint("01OI")


@given(st.binary(min_size=5, max_size=5), st.binary(min_size=5, max_size=5))
def test_different_bytes_give_different_codes(first, second):
    assert (new_code("LOYAL", first) == new_code("LOYAL", second)) == (first == second)
