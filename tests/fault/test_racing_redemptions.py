"""50 redemptions race through the JSON API for one member who can afford 5: exactly 5 succeed,
each with one code in the store, and the balance never goes below what the ledger says."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from integration.db.tables import ledger_entries, members, redemptions
from tests.fakes import order_body
from tests.fault.conftest import report

RACERS = 50


def test_fifty_racing_redemptions_spend_each_point_once(service):  # type: ignore[no-untyped-def]
    # given a member with 50 + 950 = 1000 points, enough for five 200-point rewards
    service.deliver("order/paid", order_body("big", "racer", "950.00"))
    service.work()
    member_id = service.api("GET", "/members?customer_id=racer").json()["members"][0]["id"]
    # when 50 requests race, 10 of them retries of an earlier one (same Idempotency-Key)
    def redeem(index: int) -> int:
        key = f"key-{index % 40}"
        return service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"},
                           headers={"Idempotency-Key": key}).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(redeem, range(RACERS)))
    service.work()
    # then
    with service.runtime.db.read() as conn:
        made = conn.execute(select(func.count()).select_from(redemptions)).scalar_one()
        issued = conn.execute(select(func.count()).select_from(redemptions)
                              .where(redemptions.c.status == "issued")).scalar_one()
        total = conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one()
        balance = conn.execute(select(members.c.balance)).scalar_one()
    codes = [call for call in service.platform.calls if call[0] == "create_discount_code"]
    report("racing redemptions", requests=RACERS, accepted=statuses.count(201), refused_409=statuses.count(409),
           redemptions=made, codes_written=len(codes), balance=balance, overspent=max(0, -balance))
    assert made == issued == len(codes) == 5
    assert (total, balance) == (0, 0)
    assert statuses.count(201) >= 5 and set(statuses) <= {201, 409}
