"""Money and id helpers shared by the webhook parser and the GraphQL order mapper.

Both paths must produce byte-identical events for the same order (the ledger rejects a replayed
source key with different points), so the arithmetic lives here once.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from integration.events import ZERO, Amounts, LineItem
from integration.ports import PayloadError


def money(value: object, what: str = "amount") -> Decimal:
    """Decimal from a Shopify money string (or a `{amount}` / `*_set` block). Floats are refused
    because they have already lost precision upstream."""
    if isinstance(value, dict):
        value = (value.get("shop_money") or value.get("shopMoney") or value).get("amount")
    if value is None:
        return ZERO
    if isinstance(value, float):
        value = repr(value)  # JSON like `"subtotal": 0.0` in old REST fields; repr is exact-shortest
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise PayloadError(f"{what} is not a decimal: {value!r}") from None


def plain_id(value: object, what: str = "id") -> str:
    """Numeric id as a string, from an int or a `gid://shopify/Type/123` string, so webhook and
    GraphQL paths key the same rows."""
    if value is None or value == "":
        raise PayloadError(f"missing {what}")
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("gid://") else text


def optional_id(value: object) -> str | None:
    return None if value in (None, "") else plain_id(value)


def timestamp(value: object, what: str = "timestamp") -> datetime:
    """Timezone-aware UTC datetime from Shopify's ISO-8601 (with offset or `Z`)."""
    if not isinstance(value, str) or not value:
        raise PayloadError(f"missing {what}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{what} is not ISO-8601: {value!r}") from None
    if parsed.tzinfo is None:
        raise PayloadError(f"{what} has no UTC offset: {value!r}")
    return parsed.astimezone(timezone.utc)


def line_item(
    *,
    product_id: object,
    variant_id: object,
    quantity: int,
    unit_price: Decimal,
    discounts: Iterable[Decimal],
    title: str,
    sku: str | None,
    gift_card: bool,
) -> LineItem:
    """One ordered line after its discount allocations (line-level and order-level ones alike)."""
    amount = unit_price * quantity - sum(discounts, ZERO)
    return LineItem(
        product_id=optional_id(product_id),
        variant_id=optional_id(variant_id),
        quantity=quantity,
        amount=amount,
        title=title or "",
        sku=sku or None,
        gift_card=gift_card,
    )


def split_lines(lines: Iterable[LineItem]) -> tuple[Decimal, Decimal]:
    """(merchandise, gift_cards): gift-card products are money in a different form, not spend."""
    merchandise = gift_cards = ZERO
    for line in lines:
        if line.gift_card:
            gift_cards += line.amount
        else:
            merchandise += line.amount
    return merchandise, gift_cards


def order_amounts(lines: tuple[LineItem, ...], shipping: Decimal, taxes: Decimal, tips: Decimal) -> Amounts:
    merchandise, gift_cards = split_lines(lines)
    return Amounts(merchandise=merchandise, shipping=shipping, taxes=taxes, gift_cards=gift_cards, tips=tips)


def refund_amounts(
    lines: tuple[LineItem, ...], shipping: Decimal, taxes: Decimal, discrepancies: Decimal
) -> Amounts:
    """A refund's parts. Shopify books money returned beyond (or short of) the refunded lines as a
    "refund discrepancy" adjustment, negative when more went back; that is merchandise too."""
    merchandise, gift_cards = split_lines(lines)
    return Amounts(merchandise=merchandise - discrepancies, shipping=shipping, taxes=taxes, gift_cards=gift_cards)


PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})
