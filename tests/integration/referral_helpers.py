"""Helpers for the referral tests: a referrer enrolled by a real order, their link, a friend
asking for a code on the landing page, the program's referral settings."""
from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from typing import Any

from sqlalchemy import select

from integration import referrals
from integration.db import repo
from integration.db.tables import ledger_entries, members
from integration.db.tables import referrals as referrals_table
from integration.program import program_to_dict
from integration.redemption import update_program


def set_referrals(runtime: Any, shop_id: int, **changes: Any) -> None:
    with runtime.db.write() as conn:
        program = repo.current_program(conn, shop_id)
        update_program(conn, shop_id, program_to_dict(replace(program, referrals=replace(program.referrals, **changes))),
                       runtime.clock(), note="test")


def member_id(runtime: Any, shop_id: int, customer_id: str) -> int:
    with runtime.db.read() as conn:
        return conn.execute(select(members.c.id).where(members.c.shop_id == shop_id,
                                                       members.c.customer_id == customer_id)).scalar_one()


def link_of(runtime: Any, shop_id: int, member: int) -> str:
    with runtime.db.write() as conn:
        return referrals.ensure_link(conn, shop_id, member, runtime.clock())


def ask_code(session: Any, base_url: str, code: str, email: str) -> tuple[int, str]:
    """The friend posts an email on the landing page: (HTTP status, the welcome code or the error)."""
    answer = session.post(f"{base_url}/r/{code}", data={"email": email}, timeout=10)
    found = re.search(r'id="code">([^<]+)<', answer.text) or re.search(r'id="error">([^<]+)<', answer.text)
    return answer.status_code, unescape(found.group(1)) if found else answer.text


def referral_rows(runtime: Any) -> list[Any]:
    with runtime.db.read() as conn:
        return conn.execute(select(referrals_table).order_by(referrals_table.c.id)).fetchall()


def referral_entries(runtime: Any) -> list[tuple[str, int]]:
    with runtime.db.read() as conn:
        return [tuple(r) for r in conn.execute(
            select(ledger_entries.c.source_key, ledger_entries.c.points)
            .where(ledger_entries.c.source_key.like("referral:%")).order_by(ledger_entries.c.id))]
