"""Goodwill ("sorry") codes: support gives a customer a discount code without spending points.

A goodwill code is a redemption row with `reward_id` "goodwill" and 0 points, so it shows in the
member's history and in reports beside the rewards they bought, and the outbox writes it into
the store exactly like a redeemed code (`create_discount_code`, retried, and marked failed if the
store refuses it for good; there are no points to give back). No ledger entry is written.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from integration.db import repo
from integration.db.tables import redemptions
from integration.outbox import discount_payload, enqueue
from integration.ports import DiscountCode, LoyaltyError
from integration.redemption import ShopNotActiveError
from integration.rules.rewards import new_code

GOODWILL_KINDS = ("amount_off", "percent_off", "free_shipping")
MAX_AMOUNT = Decimal("1000")


class InvalidGoodwillError(LoyaltyError):
    pass


def check_goodwill(kind: str, value: str | Decimal, reason: str, validity_days: int) -> Decimal:
    """The code's value, or InvalidGoodwillError naming what is wrong."""
    if kind not in GOODWILL_KINDS:
        raise InvalidGoodwillError("the code must be amount off, percent off or free shipping")
    if not reason or not reason.strip():
        raise InvalidGoodwillError("a reason is required")
    if not 1 <= validity_days <= 365:
        raise InvalidGoodwillError("the code must be valid for 1 to 365 days")
    if kind == "free_shipping":
        return Decimal("0")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidGoodwillError("the value must be a number") from None
    limit = Decimal("100") if kind == "percent_off" else MAX_AMOUNT
    if not amount.is_finite() or not Decimal("0") < amount <= limit:
        raise InvalidGoodwillError(f"the value must be more than 0 and at most {limit}")
    return amount


def give_goodwill_code(conn: Connection, shop_id: int, member_id: int, *, kind: str, value: str | Decimal,
                       reason: str, now: datetime, validity_days: int = 30,
                       random_bytes: Callable[[int], bytes] = os.urandom) -> Any:
    """Record the code and queue its store write, in this transaction; no points move."""
    amount = check_goodwill(kind, value, reason, validity_days)
    member = repo.lock_member(conn, shop_id, member_id)
    shop = repo.shop_row(conn, shop_id)
    if shop.status != "active":
        raise ShopNotActiveError(f"the shop is {shop.status}: no code can be written into it")
    code = new_code("SORRY", random_bytes(10))
    title = f"Goodwill: {reason.strip()}"[:200]
    discount = DiscountCode(code=code, kind=kind, value=amount, customer_id=member.customer_id,
                            customer_email=member.email, starts_at=now,
                            ends_at=now + timedelta(days=validity_days), title=title)
    redemption_id = conn.execute(redemptions.insert().values(
        shop_id=shop_id, member_id=member_id, reward_id="goodwill",
        reward={"name": title, "kind": kind, "value": str(amount), "cause": None, "product_ids": [],
                "goodwill": True, "reason": reason.strip()},
        points=0, code=code, status="pending", created_at=now, expires_at=discount.ends_at,
    ).returning(redemptions.c.id)).scalar_one()
    enqueue(conn, shop_id, "create_discount_code", discount_payload(discount, redemption_id),
            dedupe_key=f"code:{redemption_id}", now=now)
    return conn.execute(select(redemptions).where(redemptions.c.id == redemption_id)).one()
