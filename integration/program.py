"""A shop's loyalty program: the merchant's settings, validated and versioned. Standard library only.

A `Program` is immutable. Saving a change stores a new version; every ledger entry records the
version that produced it, so a refund is always reversed under the rules that earned it.
`validate(program)` returns every problem at once; `program_from_dict` / `program_to_dict` are the
JSON form used by the database, the API and the settings page.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from integration import dataclass_json
from integration.ports import LoyaltyError

REWARD_KINDS = ("free_product", "amount_off", "percent_off", "free_shipping", "donation")
TIER_QUALIFICATIONS = ("spend", "points", "orders")


@dataclass(frozen=True, slots=True)
class EarningBasis:
    """What counts as eligible spend. Merchandise after discounts always counts; tips never do."""

    include_shipping: bool = False
    include_taxes: bool = False
    include_gift_cards: bool = False


@dataclass(frozen=True, slots=True)
class Reward:
    """One entry of the rewards catalog.

    `value`: money off for amount_off, percent for percent_off, the product's price for
    free_product (one unit), the pledged amount for donation; unused for free_shipping.
    """

    reward_id: str
    name: str
    kind: str
    points_cost: int
    value: Decimal = Decimal("0")
    product_ids: tuple[str, ...] = ()
    validity_days: int = 30
    minimum_subtotal: Decimal | None = None
    cause: str | None = None  # donation rewards: who receives the pledge
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Benefits:
    """What a tier or a paid membership gives beyond its earn multiplier."""

    free_shipping: bool = False
    member_discount_percent: Decimal = Decimal("0")
    birthday_points: int = 0


@dataclass(frozen=True, slots=True)
class Tier:
    """A level reached when the qualifying total over the rolling window reaches `threshold`
    (money for "spend", points for "points", a count for "orders"). The lowest tier usually has
    threshold 0, so every member has one."""

    name: str
    threshold: Decimal
    multiplier: Decimal = Decimal("1")
    benefits: Benefits = field(default_factory=Benefits)


@dataclass(frozen=True, slots=True)
class MembershipPlan:
    """A paid membership bought as a store product: a paid order containing one of
    `product_ids` starts (or extends) a membership of `period_months` per unit bought."""

    plan_id: str
    name: str
    product_ids: tuple[str, ...]
    period_months: int = 12
    multiplier: Decimal = Decimal("1")
    benefits: Benefits = field(default_factory=Benefits)
    grace_days: int = 0


@dataclass(frozen=True, slots=True)
class Campaign:
    """A bonus campaign: earn × `multiplier` for orders paid in [starts_at, ends_at) while active."""

    campaign_id: str
    name: str
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    active: bool = True


REFERRAL_DISCOUNT_KINDS = ("amount_off", "percent_off")


@dataclass(frozen=True, slots=True)
class Referrals:
    """Refer a friend: the friend gets a single-use, new-customers-only welcome code; when an
    order that used it is paid (and not returned within the pending period), the referrer earns
    `referrer_points`. Each fraud limit can be switched off or tuned (integration/rules/referrals.py).

    `pending_days` None: the program's `pending_days`. `monthly_cap` and `max_friends_per_ip`
    0: no limit. `minimum_order`: the friend's order (eligible amount) must reach it."""

    enabled: bool = True  # False: the program is paused (links show a notice, no rewards)
    referrer_points: int = 500
    friend_discount_kind: str = "amount_off"
    friend_discount_value: Decimal = Decimal("10")
    friend_code_days: int = 30
    friend_minimum_subtotal: Decimal | None = None
    minimum_order: Decimal = Decimal("0")
    monthly_cap: int = 10
    pending_days: int | None = None
    block_self_referral: bool = True
    review_same_ip: bool = True
    max_friends_per_ip: int = 3  # friends invited from one address within 30 days; more wait for review
    review_disposable_domains: bool = True
    disposable_domains: tuple[str, ...] = ()  # beyond the built-in list


def default_rewards() -> tuple[Reward, ...]:
    return (
        Reward("r200", "$5 off", "amount_off", 200, Decimal("5")),
        Reward("r500", "$15 off", "amount_off", 500, Decimal("15")),
        Reward("ship300", "Free shipping", "free_shipping", 300),
    )


@dataclass(frozen=True, slots=True)
class Program:
    version: int = 1
    points_per_unit: Decimal = Decimal("1")
    basis: EarningBasis = field(default_factory=EarningBasis)
    signup_bonus: int = 50
    rewards: tuple[Reward, ...] = field(default_factory=default_rewards)
    tiers: tuple[Tier, ...] = ()
    tier_qualification: str = "spend"
    tier_window_months: int = 12
    plans: tuple[MembershipPlan, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    expiry_months: int | None = None  # None: points never expire
    pending_days: int = 0
    reminder_every_days: int = 28
    reminders_skip_inactive: bool = True
    birthday_points: int = 0  # for members without a tier that says otherwise
    expiry_warning_days: int = 14  # warn this many days before a lot of points expires
    return_points_for_expired_codes: bool = False  # an unused code's points come back at its expiry
    membership_reminder_days: int = 7  # remind this many days before a paid membership ends
    tier_warning_days: int = 14  # warn this many days before a tier would be lowered
    email_from_name: str = ""  # shown as the sender of the shop's emails ("" = the shop's name)
    email_reply_to: str = ""  # where customers' replies go ("" = no Reply-To)
    language: str = ""  # customers without a locale of their own: en, fr, zh_Hans, zh_Hant, ar ("" = the shop's)
    referrals: Referrals = field(default_factory=Referrals)


def default_program() -> Program:
    """Version 1 with the defaults above: 1 point per unit, signup 50, first reward at 200,
    30-day codes, 12-month tier window, no pending period, a reminder every 28 days."""
    return Program()


# --- validation: every problem at once, each with the path of the input it belongs to ----------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a program. `field` is a dotted path such as `rewards[2].points_cost`
    ("" for the whole program) so that a settings page can show `message` next to its input."""

    field: str
    message: str


class ProgramError(LoyaltyError):
    """A program's JSON form could not be read; `problems` lists every wrong value."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.field or 'program'}: {p.message}" for p in problems))
        self.problems = problems


MAX_MULTIPLIER = Decimal("100")  # beyond this a value is a typo ("200" meant as 200 %), not a bonus
MAX_POINTS_PER_UNIT = Decimal("1000")


class _Checker:
    """Collects problems; the helpers skip comparisons a non-finite Decimal would make raise."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def require(self, condition: bool, path: str, message: str) -> None:
        if not condition:
            self.problems.append(Problem(path, message))

    def between(self, value: int | Decimal, low: int | Decimal, high: int | Decimal, path: str,
                *, low_open: bool = False) -> None:
        if isinstance(value, Decimal) and not value.is_finite():
            self.problems.append(Problem(path, "not a finite number"))
        elif low_open and not low < value <= high:
            self.problems.append(Problem(path, f"must be more than {low} and at most {high}"))
        elif not low_open and not low <= value <= high:
            self.problems.append(Problem(path, f"must be between {low} and {high}"))

    def at_least(self, value: int | Decimal, low: int | Decimal, path: str, *, strictly: bool = False) -> None:
        if isinstance(value, Decimal) and not value.is_finite():
            self.problems.append(Problem(path, "not a finite number"))
        elif strictly and not value > low:
            self.problems.append(Problem(path, f"must be more than {low}"))
        elif not strictly and not value >= low:
            self.problems.append(Problem(path, f"must be {low} or more"))

    def unique_ids(self, ids: list[str], prefix: str, name: str, what: str) -> None:
        seen: set[str] = set()
        for index, value in enumerate(ids):
            path = f"{prefix}[{index}].{name}"
            self.require(bool(value.strip()), path, "must not be empty")
            self.require(not value.strip() or value not in seen, path, f"is used by another {what}")
            seen.add(value)


def validate(program: Program) -> list[Problem]:
    """Every problem with `program`, in the order of the settings page; [] when it can be saved."""
    check = _Checker()
    check.at_least(program.version, 1, "version")
    check.between(program.points_per_unit, Decimal("0"), MAX_POINTS_PER_UNIT, "points_per_unit", low_open=True)
    check.at_least(program.signup_bonus, 0, "signup_bonus")
    check.at_least(program.birthday_points, 0, "birthday_points")
    _check_rewards(check, program.rewards)
    _check_tiers(check, program)
    _check_plans(check, program.plans)
    _check_campaigns(check, program.campaigns)
    if program.expiry_months is not None:
        check.at_least(program.expiry_months, 1, "expiry_months")
    check.between(program.pending_days, 0, 365, "pending_days")
    check.between(program.reminder_every_days, 1, 365, "reminder_every_days")
    check.between(program.expiry_warning_days, 0, 365, "expiry_warning_days")
    check.between(program.membership_reminder_days, 0, 365, "membership_reminder_days")
    check.between(program.tier_warning_days, 0, 365, "tier_warning_days")
    _check_referrals(check, program.referrals)
    return check.problems


def _check_referrals(check: _Checker, referrals: Referrals) -> None:
    path = "referrals"
    check.at_least(referrals.referrer_points, 0, f"{path}.referrer_points")
    check.require(referrals.friend_discount_kind in REFERRAL_DISCOUNT_KINDS, f"{path}.friend_discount_kind",
                  "must be one of " + ", ".join(REFERRAL_DISCOUNT_KINDS))
    if referrals.friend_discount_kind == "percent_off":
        check.between(referrals.friend_discount_value, Decimal("0"), Decimal("100"),
                      f"{path}.friend_discount_value", low_open=True)
    else:
        check.at_least(referrals.friend_discount_value, Decimal("0"), f"{path}.friend_discount_value", strictly=True)
    check.between(referrals.friend_code_days, 1, 365, f"{path}.friend_code_days")
    if referrals.friend_minimum_subtotal is not None:
        check.at_least(referrals.friend_minimum_subtotal, Decimal("0"), f"{path}.friend_minimum_subtotal")
    check.at_least(referrals.minimum_order, Decimal("0"), f"{path}.minimum_order")
    check.between(referrals.monthly_cap, 0, 1000, f"{path}.monthly_cap")
    if referrals.pending_days is not None:
        check.between(referrals.pending_days, 0, 365, f"{path}.pending_days")
    check.between(referrals.max_friends_per_ip, 0, 1000, f"{path}.max_friends_per_ip")
    for domain in referrals.disposable_domains:
        check.require("." in domain.strip() and " " not in domain.strip(), f"{path}.disposable_domains",
                      f"{domain!r} is not a domain")


def _check_rewards(check: _Checker, rewards: tuple[Reward, ...]) -> None:
    check.unique_ids([r.reward_id for r in rewards], "rewards", "reward_id", "reward")
    for index, reward in enumerate(rewards):
        path = f"rewards[{index}]"
        check.require(bool(reward.name.strip()), f"{path}.name", "must not be empty")
        check.require(reward.kind in REWARD_KINDS, f"{path}.kind", "must be one of " + ", ".join(REWARD_KINDS))
        check.at_least(reward.points_cost, 0, f"{path}.points_cost", strictly=True)
        if reward.kind == "percent_off":
            check.between(reward.value, Decimal("0"), Decimal("100"), f"{path}.value", low_open=True)
        elif reward.kind in ("amount_off", "free_product", "donation"):
            check.at_least(reward.value, Decimal("0"), f"{path}.value", strictly=True)
        if reward.kind == "free_product":
            check.require(bool(reward.product_ids), f"{path}.product_ids", "a free product needs a product")
        if reward.kind == "donation":
            check.require(bool((reward.cause or "").strip()), f"{path}.cause", "a donation needs a cause")
        check.require(all(p.strip() for p in reward.product_ids), f"{path}.product_ids", "has an empty product id")
        check.between(reward.validity_days, 1, 365, f"{path}.validity_days")
        if reward.minimum_subtotal is not None:
            check.at_least(reward.minimum_subtotal, Decimal("0"), f"{path}.minimum_subtotal")


def _check_benefits(check: _Checker, benefits: Benefits, path: str) -> None:
    check.between(benefits.member_discount_percent, Decimal("0"), Decimal("100"),
                  f"{path}.member_discount_percent")
    check.at_least(benefits.birthday_points, 0, f"{path}.birthday_points")


def _check_tiers(check: _Checker, program: Program) -> None:
    check.require(program.tier_qualification in TIER_QUALIFICATIONS, "tier_qualification",
                  "must be one of " + ", ".join(TIER_QUALIFICATIONS))
    check.between(program.tier_window_months, 1, 36, "tier_window_months")
    check.unique_ids([t.name for t in program.tiers], "tiers", "name", "tier")
    previous: Decimal | None = None
    for index, tier in enumerate(program.tiers):
        path = f"tiers[{index}]"
        check.at_least(tier.threshold, Decimal("0"), f"{path}.threshold")
        if tier.threshold.is_finite():
            if previous is not None:
                check.require(tier.threshold > previous, f"{path}.threshold",
                              "must be higher than the tier before")
            if program.tier_qualification == "orders":
                check.require(tier.threshold == tier.threshold.to_integral_value(), f"{path}.threshold",
                              "must be a whole number of orders")
            previous = tier.threshold
        check.between(tier.multiplier, Decimal("1"), MAX_MULTIPLIER, f"{path}.multiplier")
        _check_benefits(check, tier.benefits, f"{path}.benefits")


def _check_plans(check: _Checker, plans: tuple[MembershipPlan, ...]) -> None:
    check.unique_ids([p.plan_id for p in plans], "plans", "plan_id", "plan")
    owner: dict[str, str] = {}
    for index, plan in enumerate(plans):
        path = f"plans[{index}]"
        check.require(bool(plan.name.strip()), f"{path}.name", "must not be empty")
        check.require(bool(plan.product_ids), f"{path}.product_ids", "a plan needs at least one product")
        check.require(all(p.strip() for p in plan.product_ids), f"{path}.product_ids", "has an empty product id")
        for product_id in plan.product_ids:
            other = owner.setdefault(product_id, plan.plan_id)
            check.require(other == plan.plan_id, f"{path}.product_ids",
                          f"product {product_id} already belongs to plan {other}")
        check.at_least(plan.period_months, 1, f"{path}.period_months")
        check.between(plan.multiplier, Decimal("1"), MAX_MULTIPLIER, f"{path}.multiplier")
        check.between(plan.grace_days, 0, 365, f"{path}.grace_days")
        _check_benefits(check, plan.benefits, f"{path}.benefits")


def _check_campaigns(check: _Checker, campaigns: tuple[Campaign, ...]) -> None:
    """Campaign times must carry a timezone: a naive time is ambiguous across the shop, the server
    and the customer, and cannot be compared with the aware `paid_at` of an order."""
    check.unique_ids([c.campaign_id for c in campaigns], "campaigns", "campaign_id", "campaign")
    for index, campaign in enumerate(campaigns):
        path = f"campaigns[{index}]"
        check.between(campaign.multiplier, Decimal("0"), MAX_MULTIPLIER, f"{path}.multiplier", low_open=True)
        aware = True
        for name in ("starts_at", "ends_at"):
            moment: datetime = getattr(campaign, name)
            if moment.tzinfo is None or moment.utcoffset() is None:
                aware = False
                check.problems.append(Problem(f"{path}.{name}", "must include a timezone"))
        if aware:
            check.require(campaign.starts_at < campaign.ends_at, f"{path}.ends_at", "must be after the start")


# --- JSON form -----------------------------------------------------------------------------------


def program_to_dict(program: Program) -> dict[str, Any]:
    """JSON-ready: Decimals as strings (exact), datetimes in ISO 8601 with their offset, tuples as
    lists, nested dataclasses as objects. `program_from_dict` reads it back to an equal Program."""
    return dataclass_json.encode(program)


def program_from_dict(data: Mapping[str, Any]) -> Program:
    """Read the JSON form. Missing keys take their defaults, so programs saved before a setting
    existed still load. Raises `ProgramError` listing every value of the wrong type, every
    unknown key (a typo must not silently fall back to a default) and every missing required key.
    It does not `validate`: a stored program loads even if today's rules would reject it."""
    program, problems = dataclass_json.decode(data, Program)
    if problems:
        raise ProgramError([Problem(path, message) for path, message in problems])
    return program
