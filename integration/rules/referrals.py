"""Refer-a-friend rules: who counts as the same person, which referrals are blocked or wait for the
merchant's review, and the programme's return on investment. Standard library only.

Every decision carries its reason (shown to the merchant), so no referral is refused in silence.
A *block* is final (self-referral, an existing customer, an order under the minimum, the monthly
cap); a *review* holds the referrer's reward until the merchant approves or rejects it (the same
network address as the referrer, many friends from one address, a throw-away email domain).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from integration.program import Referrals

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# A small, local list of well-known throw-away mail services; merchants add their own.
DISPOSABLE_DOMAINS = frozenset({
    "10minutemail.com", "guerrillamail.com", "guerrillamail.net", "mailinator.com", "maildrop.cc",
    "sharklasers.com", "temp-mail.org", "tempmail.com", "throwawaymail.com", "trashmail.com",
    "yopmail.com", "dispostable.com", "getnada.com", "mintemail.com", "fakeinbox.com",
})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_email(text: str) -> bool:
    return bool(EMAIL.match(text.strip())) and len(text.strip()) <= 320


def normalise_email(email: str) -> str:
    """One key per mailbox: lower-cased, without a `+tag`, and for Gmail without dots and with
    googlemail.com read as gmail.com (Gmail ignores both), so `A.B+x@googlemail.com` and
    `ab@gmail.com` are the same person."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


ADDRESS_WORDS = {"street": "st", "avenue": "ave", "road": "rd", "apartment": "apt", "suite": "ste",
                 "boulevard": "blvd", "drive": "dr", "lane": "ln", "rue": "r"}


def normalise_address(*parts: str | None) -> str:
    """A comparable key for a postal address: accents and punctuation dropped, lower case, common
    words abbreviated, whitespace collapsed. Empty when nothing was given."""
    text = " ".join(p for p in parts if p)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return " ".join(ADDRESS_WORDS.get(word, word) for word in words)


# -- decisions -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Blocked:
    reason: str


@dataclass(frozen=True, slots=True)
class Review:
    reason: str


@dataclass(frozen=True, slots=True)
class Allowed:
    pass


Decision = Blocked | Review | Allowed


@dataclass(frozen=True, slots=True)
class Person:
    """What we know of one side of a referral. `ip` is whatever stands for the network address
    (we keep a keyed hash, never the address)."""

    customer_id: str | None = None
    email: str | None = None
    address: str | None = None  # a normalised postal address, if one is known


def same_person(referrer: Person, friend: Person) -> str | None:
    """Why the two look like one person, or None."""
    if referrer.customer_id and friend.customer_id and referrer.customer_id == friend.customer_id:
        return "self-referral: the same customer"
    if referrer.email and friend.email:
        if referrer.email.strip().lower() == friend.email.strip().lower():
            return "self-referral: the same email address"
        if normalise_email(referrer.email) == normalise_email(friend.email):
            return "self-referral: the same mailbox (email address variant)"
    if referrer.address and friend.address and referrer.address == friend.address:
        return "self-referral: the same address"
    return None


def check_invitation(settings: Referrals, referrer: Person, friend: Person, *, friend_is_customer: bool,
                     referrer_ips: frozenset[str], ip: str | None, friends_from_ip: int,
                     extra_disposable: frozenset[str] = frozenset()) -> Decision:
    """May this friend have a welcome code from this referrer? A Review still gets the code;
    only the referrer's reward waits for the merchant."""
    if not settings.enabled:
        return Blocked("the referral program is paused")
    if settings.block_self_referral and (reason := same_person(referrer, friend)):
        return Blocked(reason)
    if friend_is_customer:
        return Blocked("the friend is already a customer")
    return suspicion(settings, friend, referrer_ips=referrer_ips, ip=ip, friends_from_ip=friends_from_ip,
                     extra_disposable=extra_disposable)


def suspicion(settings: Referrals, friend: Person, *, referrer_ips: frozenset[str], ip: str | None,
              friends_from_ip: int, extra_disposable: frozenset[str] = frozenset()) -> Review | Allowed:
    if settings.review_same_ip and ip and ip in referrer_ips:
        return Review("same network address as the referrer's own visits")
    if settings.max_friends_per_ip and friends_from_ip >= settings.max_friends_per_ip:
        return Review(f"{friends_from_ip + 1} friends invited from one network address in 30 days")
    domain = email_domain(friend.email or "")
    listed = DISPOSABLE_DOMAINS | {d.strip().lower() for d in settings.disposable_domains} | extra_disposable
    if settings.review_disposable_domains and domain in listed:
        return Review(f"disposable email domain {domain}")
    return Allowed()


def check_conversion(settings: Referrals, referrer: Person, friend: Person, *, friend_had_orders: bool,
                     order_eligible: Decimal, rewards_this_month: int) -> Blocked | None:
    """Final checks when the friend's order is paid; None when the referrer may be rewarded."""
    if settings.block_self_referral and (reason := same_person(referrer, friend)):
        return Blocked(reason)
    if friend_had_orders:
        return Blocked("the friend is not a new customer")
    if order_eligible < settings.minimum_order:
        return Blocked(f"order below the minimum of {settings.minimum_order}")
    if settings.monthly_cap and rewards_this_month >= settings.monthly_cap:
        return Blocked(f"the referrer reached the cap of {settings.monthly_cap} rewards this month")
    return None


def keeps_reward(settings: Referrals, order_eligible: Decimal, refunded: Decimal) -> bool:
    """After refunds the order must still be worth something and reach the minimum: a full
    refund or a cancellation takes the reward back."""
    left = order_eligible - refunded
    return left > 0 and left >= settings.minimum_order


# -- return on investment ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Roi:
    ltv: Decimal  # average total spent per member
    k: Decimal  # invitations per member × conversion rate: new customers each customer brings
    reward_cost: Decimal  # average cost of one reward, in money
    value: Decimal | None  # None when no reward has a cost yet


def roi(*, members: int, total_spent: Decimal, invitations: int, conversions: int,
        reward_cost: Decimal) -> Roi:
    """`((LTV × (1 + k)) − reward) / reward` from the shop's own figures:
    LTV = total spent by members / members; k = (invitations / members) × (conversions / invitations);
    reward = the average money cost of one referral (referrer's points valued at the cheapest
    amount-off reward, plus the friend's welcome discount)."""
    ltv = (total_spent / members) if members else Decimal("0")
    k = (Decimal(invitations) / members) * (Decimal(conversions) / invitations) if members and invitations else Decimal("0")
    value = ((ltv * (1 + k)) - reward_cost) / reward_cost if reward_cost > 0 else None
    q = Decimal("0.01")
    return Roi(ltv.quantize(q, ROUND_HALF_UP), k.quantize(Decimal("0.0001"), ROUND_HALF_UP),
               reward_cost.quantize(q, ROUND_HALF_UP), value.quantize(q, ROUND_HALF_UP) if value is not None else None)


def new_referral_code(random_bytes: bytes) -> str:
    """A member's short, unguessable link code: 10 characters of Crockford base32 (50 bits)."""
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    number = int.from_bytes(random_bytes[:7], "big")
    return "".join(alphabet[(number >> (5 * i)) & 31] for i in range(10))
