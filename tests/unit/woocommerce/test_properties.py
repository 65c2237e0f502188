"""Properties: `verify` never raises; a refund split never invents money and never refunds a part twice."""
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.woocommerce.parse import parse
from adapters.woocommerce.verify import verify
from integration.events import OrderRefunded
from tests.woocommerce_contract import fixture

text_or_junk = st.one_of(st.text(max_size=60), st.binary(max_size=20), st.none(), st.integers())


@given(headers=st.dictionaries(st.one_of(st.just("X-WC-Webhook-Signature"), st.text(max_size=30)), text_or_junk,
                               max_size=4),
       body=st.one_of(st.binary(max_size=200), st.text(max_size=50), st.none()),
       secrets=st.lists(text_or_junk, max_size=3))
def test_verify_never_raises(headers, body, secrets):
    assert verify(headers, body, secrets) in (True, False)


cents = st.integers(min_value=1, max_value=5000).map(lambda n: Decimal(n).scaleb(-2))


@settings(max_examples=200)
@given(refunds=st.lists(cents, min_size=1, max_size=5))
def test_refund_split_stays_within_the_order(refunds):
    order = fixture("order_created_paid.v3.json")  # merchandise 18.00, shipping 10.00, taxes 1.35, total 29.35
    order["refunds"] = [{"id": 900 + n, "reason": "", "total": f"-{amount}"} for n, amount in enumerate(refunds)]

    events = [e for e in parse("order.updated", json.dumps(order).encode()) if isinstance(e, OrderRefunded)]

    assert [e.refund_id for e in events] == [str(900 + n) for n in range(len(refunds))]
    for event, gross in zip(events, refunds):
        parts = event.amounts
        assert min(parts.merchandise, parts.shipping, parts.taxes, parts.gift_cards) >= 0
        assert parts.merchandise + parts.shipping + parts.taxes + parts.gift_cards <= gross
    assert sum(e.amounts.merchandise for e in events) <= Decimal("18.00")
    assert sum(e.amounts.shipping for e in events) <= Decimal("10.00")
    assert sum(e.amounts.taxes for e in events) <= Decimal("1.35")
