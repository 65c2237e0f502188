"""The rewards catalog seen from a member's balance, and the codes a redemption writes.

Codes are made here from random bytes the caller supplies (`os.urandom` in the service), so the
rule stays pure and tests can pin the output. A code's uniqueness is the database's job (a unique
constraint; on a clash the service draws again), not a check made here.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from integration.ports import DiscountCode
from integration.program import Program, Reward

# 32 symbols without 0/O and 1/I, which customers mistype when reading a code from an email.
# Upper-case only: WooCommerce lower-cases coupon codes, and this alphabet survives that.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_BYTES = 5  # 40 bits = 8 symbols of 5 bits: about 10**12 codes per prefix


def _catalog(program: Program) -> list[Reward]:
    """Enabled rewards, cheapest first; equal costs keep the merchant's order."""
    return sorted((r for r in program.rewards if r.enabled), key=lambda r: r.points_cost)


def claimable(balance: int, program: Program) -> tuple[Reward, ...]:
    """Enabled rewards the balance pays for now, cheapest first."""
    return tuple(r for r in _catalog(program) if r.points_cost <= balance)


def next_reward(balance: int, program: Program) -> tuple[Reward | None, int]:
    """The cheapest enabled reward the balance does not reach yet, and the points still needed;
    (None, 0) when every reward is affordable (or there are none)."""
    for reward in _catalog(program):
        if reward.points_cost > balance:
            return reward, reward.points_cost - balance
    return None, 0


def find_reward(program: Program, reward_id: str) -> Reward | None:
    """The reward with this id, enabled or not (a redemption checks `enabled` itself)."""
    return next((r for r in program.rewards if r.reward_id == reward_id), None)


def discount_code_for(reward: Reward, *, code: str, customer_id: str, email: str | None,
                      now: datetime) -> DiscountCode | None:
    """The single-use code a redemption of `reward` writes into the store, valid from `now` for
    `validity_days`, restricted to the customer and to the reward's products. A donation gives
    the customer nothing to spend: None (the pledge is recorded by the service)."""
    if reward.kind == "donation":
        return None
    return DiscountCode(
        code=code,
        kind=reward.kind,
        value=reward.value,
        customer_id=customer_id,
        customer_email=email,
        starts_at=now,
        ends_at=now + timedelta(days=reward.validity_days),
        title=reward.name,
        product_ids=reward.product_ids,
        minimum_subtotal=reward.minimum_subtotal,
    )


def new_code(prefix: str, random_bytes: bytes) -> str:
    """`PREFIX-XXXX-XXXX` from the first 5 of `random_bytes` (e.g. `LOYAL-7KQ2-M9XD`); without a
    prefix just `XXXX-XXXX`. Raises ValueError for fewer than 5 bytes or a prefix that is not
    letters and digits (it would not survive every store's code rules)."""
    if len(random_bytes) < CODE_BYTES:
        raise ValueError(f"need at least {CODE_BYTES} random bytes")
    if prefix and not (prefix.isascii() and prefix.isalnum()):
        raise ValueError("the prefix must be ASCII letters and digits")
    number = int.from_bytes(random_bytes[:CODE_BYTES], "big")
    symbols = "".join(CODE_ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))
    body = f"{symbols[:4]}-{symbols[4:]}"
    return f"{prefix.upper()}-{body}" if prefix else body
