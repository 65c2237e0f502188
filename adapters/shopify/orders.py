"""Reading orders back through GraphQL (reconciliation, portal claims) and mapping them to the
same events a webhook would have given: same ids (numeric, not gids), same amounts.

Listing and detail are separate queries because a page of 50 orders with their lines and refunds
would exceed the 1,000-point single-query cost limit; the listing costs about 50 points and each
detail query stays well under the limit. An order with more lines or refunds than one detail
query holds is reported as `Ignored` rather than mapped with wrong amounts.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from integration.events import ZERO, Customer, Ignored, LineItem, OrderCancelled, OrderPaid, OrderRefunded, StoreEvent

from .amounts import PAID_STATUSES, line_item, money, order_amounts, plain_id, refund_amounts, timestamp

LINES_PER_ORDER = 50
REFUNDS_PER_ORDER = 10
LINES_PER_REFUND = 20

LIST_ORDERS = """query LoyaltyOrdersSince($query: String!, $after: String) {
  orders(first: 50, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id }
  }
}"""

FIND_ORDERS = """query LoyaltyOrderByName($query: String!) {
  orders(first: 5, query: $query) { nodes { id name } }
}"""

_MONEY = "{ shopMoney { amount } }"
ORDER_DETAIL = f"""query LoyaltyOrder($id: ID!) {{
  order(id: $id) {{
    id name email processedAt updatedAt cancelledAt displayFinancialStatus currencyCode discountCodes
    customer {{ id firstName lastName locale }}
    totalPriceSet {_MONEY}
    totalTaxSet {_MONEY}
    totalTipReceivedSet {_MONEY}
    shippingLines(first: 10) {{
      nodes {{ isRemoved originalPriceSet {_MONEY} discountAllocations {{ allocatedAmountSet {_MONEY} }} }}
    }}
    lineItems(first: {LINES_PER_ORDER}) {{
      pageInfo {{ hasNextPage }}
      nodes {{
        id title sku quantity isGiftCard product {{ id }} variant {{ id }}
        originalUnitPriceSet {_MONEY}
        discountAllocations {{ allocatedAmountSet {_MONEY} }}
      }}
    }}
    refunds(first: {REFUNDS_PER_ORDER}) {{
      id createdAt
      refundLineItems(first: {LINES_PER_REFUND}) {{
        pageInfo {{ hasNextPage }}
        nodes {{ quantity subtotalSet {_MONEY} totalTaxSet {_MONEY} lineItem {{ id }} }}
      }}
      refundShippingLines(first: 5) {{ nodes {{ subtotalAmountSet {_MONEY} taxAmountSet {_MONEY} }} }}
      orderAdjustments(first: 5) {{ nodes {{ amountSet {_MONEY} taxAmountSet {_MONEY} }} }}
    }}
  }}
}}"""

Json = dict[str, Any]


def search_since(since_iso: str) -> str:
    return f"updated_at:>'{since_iso}'"


def search_name(order_number: str) -> str:
    """Search by the customer-facing name; a bare number is looked up as `#1001`."""
    name = order_number.strip()
    if name.isdigit():
        name = "#" + name
    return "name:'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _nodes(connection: Json | None) -> list[Json]:
    return list((connection or {}).get("nodes") or [])


def _truncated(connection: Json | None) -> bool:
    return bool(((connection or {}).get("pageInfo") or {}).get("hasNextPage"))


def _allocations(node: Json) -> list:
    return [money(a.get("allocatedAmountSet"), "discount allocation") for a in node.get("discountAllocations") or []]


def _customer(order: Json) -> Customer | None:
    data, email = order.get("customer"), order.get("email")
    if data and data.get("id"):
        return Customer(
            customer_id=plain_id(data["id"]),
            email=email,
            first_name=data.get("firstName"),
            last_name=data.get("lastName"),
            locale=data.get("locale"),
        )
    return Customer(customer_id="guest:" + email.strip().lower(), email=email) if email else None


def _line(node: Json) -> LineItem:
    return line_item(
        product_id=(node.get("product") or {}).get("id"),
        variant_id=(node.get("variant") or {}).get("id"),
        quantity=int(node.get("quantity") or 0),
        unit_price=money(node.get("originalUnitPriceSet"), "originalUnitPriceSet"),
        discounts=_allocations(node),
        title=node.get("title") or "",
        sku=node.get("sku"),
        gift_card=bool(node.get("isGiftCard")),
    )


def _shipping(order: Json) -> Decimal:
    total = ZERO
    for node in _nodes(order.get("shippingLines")):
        if not node.get("isRemoved"):
            total += money(node.get("originalPriceSet"), "shipping") - sum(_allocations(node), ZERO)
    return total


def _paid(order: Json, order_id: str, customer: Customer, lines: tuple[LineItem, ...]) -> OrderPaid:
    return OrderPaid(
        order_id=order_id,
        customer=customer,
        paid_at=timestamp(order.get("processedAt") or order.get("updatedAt"), "processedAt"),
        currency=order.get("currencyCode") or "",
        amounts=order_amounts(
            lines,
            shipping=_shipping(order),
            taxes=money(order.get("totalTaxSet"), "totalTaxSet"),
            tips=money(order.get("totalTipReceivedSet"), "totalTipReceivedSet"),
        ),
        order_number=order.get("name"),
        line_items=lines,
        discount_codes=tuple(order.get("discountCodes") or ()),
        total=money(order.get("totalPriceSet"), "totalPriceSet"),
    )


def _refund(node: Json, order_id: str, by_line: dict[str, LineItem], customer: Customer | None) -> OrderRefunded:
    lines, taxes = [], ZERO
    for item in _nodes(node.get("refundLineItems")):
        original = by_line.get(plain_id((item.get("lineItem") or {}).get("id"), "refund lineItem.id"))
        amount = money(item.get("subtotalSet"), "refund subtotal")
        taxes += money(item.get("totalTaxSet"), "refund tax")
        lines.append(LineItem(
            product_id=original.product_id if original else None,
            variant_id=original.variant_id if original else None,
            quantity=int(item.get("quantity") or 0),
            amount=amount,
            title=original.title if original else "",
            sku=original.sku if original else None,
            gift_card=original.gift_card if original else False,
        ))
    shipping = ZERO
    for ship in _nodes(node.get("refundShippingLines")):
        shipping += money(ship.get("subtotalAmountSet"), "refund shipping")
        taxes += money(ship.get("taxAmountSet"), "refund shipping tax")
    discrepancies = ZERO
    for adjustment in _nodes(node.get("orderAdjustments")):
        discrepancies += money(adjustment.get("amountSet"), "order adjustment")
        taxes -= money(adjustment.get("taxAmountSet"), "adjustment tax")
    return OrderRefunded(
        order_id=order_id,
        refund_id=plain_id(node.get("id"), "refund id"),
        refunded_at=timestamp(node.get("createdAt"), "refund createdAt"),
        amounts=refund_amounts(tuple(lines), shipping, taxes, discrepancies),
        customer=customer,
        line_items=tuple(lines),
    )


def order_events(order: Json) -> list[StoreEvent]:
    """Paid (if so), each refund, cancelled (if so): the rule of `parse.order_events`."""
    order_id = plain_id(order.get("id"), "order id")
    too_big = _truncated(order.get("lineItems")) or any(_truncated(r.get("refundLineItems")) for r in order.get("refunds") or [])
    if too_big or len(order.get("refunds") or []) >= REFUNDS_PER_ORDER:
        return [Ignored(f"order {order_id} is too large to reconcile; its webhooks stand")]
    status = (order.get("displayFinancialStatus") or "").lower()
    customer = _customer(order)
    events: list[StoreEvent] = []
    if status in PAID_STATUSES:
        nodes = _nodes(order.get("lineItems"))
        lines = tuple(_line(n) for n in nodes)
        if customer is None:
            events.append(Ignored(f"order {order_id} has neither customer nor email"))
        else:
            events.append(_paid(order, order_id, customer, lines))
        by_line = {plain_id(n.get("id")): line for n, line in zip(nodes, lines)}
        events.extend(_refund(r, order_id, by_line, customer) for r in order.get("refunds") or [])
    if order.get("cancelledAt"):
        events.append(OrderCancelled(order_id, timestamp(order["cancelledAt"], "cancelledAt"), customer))
    return events or [Ignored(f"order {order_id} is {status or 'without financial status'}")]
