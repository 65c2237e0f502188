"""The store answers THROTTLED, 429 and 5xx for a stretch (some after applying the write: a lost
answer), then recovers: every reward code ends up in the store exactly once."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from integration.db.tables import members, outbox_attempts, redemptions
from integration.redemption import redeem
from tests.fake_shopify import fake_shopify, shopify_service  # noqa: F401
from tests.fault.conftest import report

SHOP = "outage.myshopify.com"
ORDER = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "orders_paid.json").read_bytes())
MEMBERS = 20


def test_every_code_is_written_exactly_once_through_an_outage(shopify_service):  # type: ignore[no-untyped-def]
    service, fake = shopify_service, shopify_service.fake
    shop_id = service.install(SHOP)
    # given 20 members with 231 points each (signup + the fixture order)
    for index in range(MEMBERS):
        order = dict(ORDER, id=9_000 + index, admin_graphql_api_id=f"gid://shopify/Order/{9_000 + index}",
                     customer=dict(ORDER["customer"], id=7_000 + index))
        assert service.deliver("orders/paid", json.dumps(order).encode(), shop=SHOP).status_code == 200
    service.work()
    # and the store failing the next 30 calls: throttled, 429, 5xx, and lost answers after applying
    fake.fail_next(8, "throttled")
    fake.fail_next(8, "429")
    fake.fail_next(4, "503", after_applying=True)
    fake.fail_next(6, "503")
    fake.fail_next(4, "500")
    # when each member redeems the $5 reward and the outbox runs until the store recovered
    with service.runtime.db.write() as conn:
        ids = [redeem(conn, shop_id, member_id, "r200", service.runtime.clock()).id
               for member_id in conn.execute(select(members.c.id).order_by(members.c.id)).scalars()]
    runner = service.runtime.outbox_runner()
    rounds = 0
    while rounds < 30 and pending(service):
        runner.run_due(service.runtime.clock())
        service.runtime.clock.now += timedelta(hours=1)
        rounds += 1
    # then every code is issued, in the store once, and every member paid once
    with service.runtime.db.read() as conn:
        issued = conn.execute(select(redemptions.c.code, redemptions.c.remote_id, redemptions.c.status)).fetchall()
        balances = conn.execute(select(members.c.balance)).scalars().all()
        retries = conn.execute(select(func.count()).select_from(outbox_attempts)
                               .where(outbox_attempts.c.outcome == "retry")).scalar_one()
    discounts = fake.shop(SHOP).discounts
    creates = fake.graphql_calls("discountCodeBasicCreate")
    sent_codes = [call.variables["basicCodeDiscount"]["code"] for call in creates]
    report("store outage", redemptions=len(ids), codes_in_store=len(discounts), create_calls=len(creates),
           same_code_resent=len(sent_codes) - len(set(sent_codes)), failures_injected=30, outbox_retries=retries,
           written_twice=sum(1 for row in issued if discounts.get(row.code, {}).get("id") != row.remote_id),
           lost=MEMBERS - len(discounts))
    assert sorted(row.status for row in issued) == ["issued"] * MEMBERS
    assert sorted(discounts) == sorted(row.code for row in issued)
    assert all(discounts[row.code]["id"] == row.remote_id for row in issued)
    assert balances == [31] * MEMBERS
    assert len(creates) > MEMBERS  # the outage was really met


def pending(service) -> bool:  # type: ignore[no-untyped-def]
    with service.runtime.db.read() as conn:
        return conn.execute(select(func.count()).select_from(redemptions)
                            .where(redemptions.c.status == "pending")).scalar_one() > 0
