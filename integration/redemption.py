"""Spending points: redeem a reward, adjust by hand, change the program."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from integration.db import repo
from integration.db.tables import members, redemptions
from integration.outbox import discount_payload, enqueue
from integration.ports import LoyaltyError
from integration.program import Program, ProgramError, program_from_dict, validate
from integration.rules import rewards


class InsufficientPointsError(LoyaltyError):
    def __init__(self, needed: int, spendable: int):
        super().__init__(f"this reward needs {needed} points; {spendable} are spendable")
        self.needed = needed
        self.spendable = spendable


class UnknownRewardError(LoyaltyError):
    pass


class ShopNotActiveError(LoyaltyError):
    """The shop is uninstalled or must be re-authorised: no code can be written into it, so no
    points are taken (rather than taken and given back when the store write fails)."""


class InvalidAdjustmentError(LoyaltyError):
    pass


def redeem(conn: Connection, shop_id: int, member_id: int, reward_id: str, now: datetime, *,
           idempotency_key: str | None = None, random_bytes: Callable[[int], bytes] = os.urandom) -> Any:
    """Debit the reward's cost and ask the store for a code, in this transaction.

    The member row is locked first, so concurrent redemptions queue up and none can spend points
    another has already spent. A repeated `idempotency_key` returns the first redemption."""
    member = repo.lock_member(conn, shop_id, member_id)
    if idempotency_key:
        earlier = conn.execute(select(redemptions).where(
            redemptions.c.shop_id == shop_id, redemptions.c.member_id == member_id,
            redemptions.c.idempotency_key == idempotency_key)).first()
        if earlier is not None:
            return earlier
    shop = repo.shop_row(conn, shop_id)
    if shop.status != "active":
        raise ShopNotActiveError(f"the shop is {shop.status}: rewards cannot be redeemed until it is installed again")
    program = repo.current_program(conn, shop_id)
    reward = rewards.find_reward(program, reward_id)
    if reward is None or not reward.enabled:
        raise UnknownRewardError(f"no reward {reward_id!r} in this shop's catalog")
    spendable = repo.spendable_points(conn, shop_id, member_id, now)
    if spendable < reward.points_cost:
        raise InsufficientPointsError(reward.points_cost, spendable)
    code = rewards.new_code("LOYAL", random_bytes(10))
    discount = rewards.discount_code_for(reward, code=code, customer_id=member.customer_id,
                                         email=member.email, now=now)
    redemption_id = conn.execute(redemptions.insert().values(
        shop_id=shop_id, member_id=member_id, reward_id=reward.reward_id,
        reward={"name": reward.name, "kind": reward.kind, "value": str(reward.value),
                "cause": reward.cause, "product_ids": list(reward.product_ids)},
        points=reward.points_cost, code=code if discount else None,
        status="pending" if discount else "issued", idempotency_key=idempotency_key,
        created_at=now, issued_at=None if discount else now,
        expires_at=discount.ends_at if discount else None,
    ).returning(redemptions.c.id)).scalar_one()
    repo.append_entry(
        conn, shop_id=shop_id, member_id=member_id, source_key=f"redemption:{redemption_id}",
        kind="redeem", points=-reward.points_cost, program_version=program.version, at=now,
        note=reward.name,
    )
    if discount is not None:
        enqueue(conn, shop_id, "create_discount_code", discount_payload(discount, redemption_id),
                dedupe_key=f"code:{redemption_id}", now=now)
    return conn.execute(select(redemptions).where(redemptions.c.id == redemption_id)).one()


def adjust(conn: Connection, shop_id: int, member_id: int, points: int, reason: str, now: datetime,
           *, key: str) -> repo.Entry:
    """A manual change with a required reason; `key` (e.g. a request's idempotency key) makes
    a retried request change nothing further."""
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidAdjustmentError("points must be a non-zero whole number")
    if not reason or not reason.strip():
        raise InvalidAdjustmentError("a reason is required")
    repo.lock_member(conn, shop_id, member_id)
    program = repo.current_program(conn, shop_id)
    return repo.append_entry(
        conn, shop_id=shop_id, member_id=member_id, source_key=f"adjust:{key}", kind="adjust",
        points=points, program_version=program.version, at=now, note=reason.strip(),
    )


def update_program(conn: Connection, shop_id: int, data: Mapping[str, Any], now: datetime,
                   note: str = "") -> Program:
    """Validate and store a new version; raises ProgramError listing every problem."""
    current = repo.current_program(conn, shop_id)
    proposed = replace(program_from_dict(data), version=current.version + 1)
    problems = validate(proposed)
    if problems:
        raise ProgramError(problems)
    if current.version == 1 and not _stored(conn, shop_id):
        repo.save_program(conn, shop_id, current, "defaults", now)
    repo.save_program(conn, shop_id, proposed, note, now)
    return proposed


def _stored(conn: Connection, shop_id: int) -> bool:
    from integration.db.tables import programs
    return conn.execute(select(programs.c.id).where(programs.c.shop_id == shop_id).limit(1)).first() is not None


def member_by_customer(conn: Connection, shop_id: int, customer_id: str) -> Any:
    return conn.execute(select(members).where(
        members.c.shop_id == shop_id, members.c.customer_id == customer_id)).first()
