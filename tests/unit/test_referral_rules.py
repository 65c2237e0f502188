"""Referral rules: one mailbox, one person; each fraud limit blocks (or holds) its case with a
reason, and can be switched off; the ROI formula from the shop's figures."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from integration.program import Program, Problem, Referrals, program_from_dict, program_to_dict, validate
from integration.rules import referrals as rules
from integration.rules.referrals import Allowed, Blocked, Person, Review

SETTINGS = Referrals()
REFERRER = Person("100", "ada.lovelace@gmail.com", rules.normalise_address("12 Main Street", "Springfield"))


@pytest.mark.parametrize(("email", "expected"), [
    ("Ada@Example.com", "ada@example.com"),
    ("ada+shop@example.com", "ada@example.com"),
    ("a.da@example.com", "a.da@example.com"),  # dots matter outside Gmail
    ("A.D.A+x@gmail.com", "ada@gmail.com"),
    ("ada@googlemail.com", "ada@gmail.com"),
    ("  ada+a+b@GMAIL.COM ", "ada@gmail.com"),
])
def test_email_normalisation(email: str, expected: str):
    assert rules.normalise_email(email) == expected


def test_address_normalisation_ignores_case_punctuation_accents_and_common_words():
    assert rules.normalise_address("12, Main Street", "Springfield") == rules.normalise_address("12 main st.", "SPRINGFIELD")
    assert rules.normalise_address("3 Rue de l'Église") == "3 r de l eglise"
    assert rules.normalise_address(None, "") == ""


def invitation(friend: Person, settings: Referrals = SETTINGS, **overrides):  # type: ignore[no-untyped-def]
    values = {"friend_is_customer": False, "referrer_ips": frozenset({"ip-a"}), "ip": "ip-b", "friends_from_ip": 0}
    return rules.check_invitation(settings, REFERRER, friend, **{**values, **overrides})


@pytest.mark.parametrize(("friend", "reason"), [
    (Person("100", "other@example.com"), "self-referral: the same customer"),
    (Person(None, "Ada.Lovelace@gmail.com"), "self-referral: the same email address"),
    (Person(None, "adalovelace+friend@googlemail.com"), "self-referral: the same mailbox (email address variant)"),
    (Person(None, "x@example.com", rules.normalise_address("12 MAIN ST", "springfield")), "self-referral: the same address"),
])
def test_self_referral_is_blocked_with_its_reason(friend: Person, reason: str):
    assert invitation(friend) == Blocked(reason)


def test_self_referral_check_can_be_switched_off():
    assert invitation(Person(None, "ada.lovelace@gmail.com"), replace(SETTINGS, block_self_referral=False)) == Allowed()


def test_existing_customer_and_paused_program_are_blocked():
    assert invitation(Person(None, "bob@example.com"), friend_is_customer=True) == Blocked("the friend is already a customer")
    assert invitation(Person(None, "bob@example.com"), replace(SETTINGS, enabled=False)) == Blocked("the referral program is paused")


def test_same_address_as_the_referrer_waits_for_review_unless_switched_off():
    friend = Person(None, "bob@example.com")
    assert invitation(friend, ip="ip-a") == Review("same network address as the referrer's own visits")
    assert invitation(friend, replace(SETTINGS, review_same_ip=False), ip="ip-a") == Allowed()


def test_many_friends_from_one_address_wait_for_review_from_the_limit_on():
    friend = Person(None, "bob@example.com")
    assert invitation(friend, friends_from_ip=2) == Allowed()
    assert invitation(friend, friends_from_ip=3) == Review("4 friends invited from one network address in 30 days")
    assert invitation(friend, replace(SETTINGS, max_friends_per_ip=0), friends_from_ip=50) == Allowed()


def test_disposable_domains_wait_for_review_built_in_and_merchant_listed():
    assert invitation(Person(None, "bob@mailinator.com")) == Review("disposable email domain mailinator.com")
    custom = replace(SETTINGS, disposable_domains=("junk.example",))
    assert invitation(Person(None, "bob@junk.example"), custom) == Review("disposable email domain junk.example")
    assert invitation(Person(None, "bob@mailinator.com"), replace(SETTINGS, review_disposable_domains=False)) == Allowed()


def conversion(friend: Person = Person("200", "bob@example.com"), settings: Referrals = SETTINGS, **overrides):  # type: ignore[no-untyped-def]
    values = {"friend_had_orders": False, "order_eligible": Decimal("50"), "rewards_this_month": 0}
    return rules.check_conversion(settings, REFERRER, friend, **{**values, **overrides})


def test_conversion_checks_each_block_with_its_reason():
    assert conversion() is None
    assert conversion(Person("100", "bob@example.com")) == Blocked("self-referral: the same customer")
    assert conversion(friend_had_orders=True) == Blocked("the friend is not a new customer")
    minimum = replace(SETTINGS, minimum_order=Decimal("60"))
    assert conversion(settings=minimum) == Blocked("order below the minimum of 60")
    assert conversion(settings=minimum, order_eligible=Decimal("60")) is None
    assert conversion(rewards_this_month=10) == Blocked("the referrer reached the cap of 10 rewards this month")


def test_conversion_with_cap_off():
    assert conversion(settings=replace(SETTINGS, monthly_cap=0), rewards_this_month=99) is None


def test_a_refund_keeps_the_reward_only_while_the_order_still_reaches_the_minimum():
    assert rules.keeps_reward(SETTINGS, Decimal("50"), Decimal("20")) is True
    assert rules.keeps_reward(SETTINGS, Decimal("50"), Decimal("50")) is False
    assert rules.keeps_reward(replace(SETTINGS, minimum_order=Decimal("40")), Decimal("50"), Decimal("20")) is False


def test_roi_from_the_shops_figures():
    # 100 members spent 10,000: LTV 100; 50 invitations, 10 converted: k = 0.5 × 0.2 = 0.1
    result = rules.roi(members=100, total_spent=Decimal("10000"), invitations=50, conversions=10,
                       reward_cost=Decimal("20"))
    assert result == rules.Roi(Decimal("100.00"), Decimal("0.1000"), Decimal("20.00"), Decimal("4.50"))  # (110 − 20) / 20


def test_roi_without_rewards_or_members_is_unknown_not_a_division_by_zero():
    assert rules.roi(members=0, total_spent=Decimal("0"), invitations=0, conversions=0, reward_cost=Decimal("0")).value is None


def test_referral_codes_are_short_and_differ():
    assert len(rules.new_referral_code(bytes(range(8)))) == 10
    assert rules.new_referral_code(b"\x01" * 8) != rules.new_referral_code(b"\x02" * 8)


def test_referral_settings_round_trip_validate_and_old_programs_load():
    program = Program(referrals=replace(SETTINGS, friend_discount_kind="percent_off", friend_discount_value=Decimal("15"),
                                        pending_days=14, disposable_domains=("junk.example",)))
    assert program_from_dict(program_to_dict(program)) == program
    assert validate(program) == []
    old = program_to_dict(Program())
    del old["referrals"]
    assert program_from_dict(old).referrals == Referrals()


def test_referral_settings_problems_are_listed_at_once():
    bad = Program(referrals=replace(SETTINGS, referrer_points=-1, friend_discount_kind="free_shipping",
                                    friend_code_days=0, monthly_cap=-1, pending_days=400, minimum_order=Decimal("-1")))
    assert validate(bad) == [
        Problem("referrals.referrer_points", "must be 0 or more"),
        Problem("referrals.friend_discount_kind", "must be one of amount_off, percent_off"),
        Problem("referrals.friend_code_days", "must be between 1 and 365"),
        Problem("referrals.minimum_order", "must be 0 or more"),
        Problem("referrals.monthly_cap", "must be between 0 and 1000"),
        Problem("referrals.pending_days", "must be between 0 and 365"),
    ]
    percent = Program(referrals=replace(SETTINGS, friend_discount_kind="percent_off", friend_discount_value=Decimal("120")))
    assert validate(percent) == [Problem("referrals.friend_discount_value", "must be more than 0 and at most 100")]
