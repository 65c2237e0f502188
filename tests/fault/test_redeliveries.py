"""Every order delivered 8 times (4 platform retries of one delivery id, 4 more under new ids, as
Shopify may send), all at once from many connections: each order is credited exactly once."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from random import Random

from sqlalchemy import func, select

from integration.db.tables import inbox, ledger_entries, members
from tests.fakes import order_body
from tests.fault.conftest import report
from webhooks.inbox import Worker

ORDERS = 40
COPIES = 8


def test_eight_deliveries_of_each_order_credit_it_once(service):  # type: ignore[no-untyped-def]
    sends = []
    for index in range(1, ORDERS + 1):
        body, first_id = order_body(f"o{index}", f"c{index % 10}", f"{index}.00"), uuid.uuid4().hex
        sends += [(body, first_id)] * (COPIES // 2) + [(body, uuid.uuid4().hex) for _ in range(COPIES // 2)]
    Random(9).shuffle(sends)
    # when they arrive concurrently, while two workers drain the inbox
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda send: service.deliver("order/paid", send[0], send[1]).status_code, sends))
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: Worker(service.runtime.db, service.runtime.platforms, batch_size=7)
                      .drain(service.runtime.clock()), range(2)))
    # then
    with service.runtime.db.read() as conn:
        stored = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
        credited = conn.execute(select(func.count()).select_from(ledger_entries)
                                .where(ledger_entries.c.kind != "signup")).scalar_one()
        total = conn.execute(select(func.sum(ledger_entries.c.points))).scalar_one()
        balances = conn.execute(select(func.sum(members.c.balance))).scalar_one()
        failed = conn.execute(select(func.count()).select_from(inbox).where(inbox.c.status != "done")).scalar_one()
    report("re-deliveries", sent=len(sends), acknowledged=statuses.count(200), stored=stored,
           duplicates_absorbed=len(sends) - credited, credited=credited, lost=ORDERS - credited)
    expected = 10 * 50 + sum(range(1, ORDERS + 1))
    assert statuses == [200] * (ORDERS * COPIES)
    assert stored == ORDERS * (COPIES // 2 + 1)  # one row per distinct delivery id
    assert (credited, total, balances, failed) == (ORDERS, expected, expected, 0)
