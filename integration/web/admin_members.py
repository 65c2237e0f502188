"""Members: search and filter, export as CSV (streamed), a member's ledger, manual adjustments
and goodwill codes. Routes of the `admin` blueprint."""
from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import Response, abort, redirect, render_template, request, stream_with_context, url_for

from integration import reports, views
from integration.db import repo
from integration.goodwill import GOODWILL_KINDS, InvalidGoodwillError, give_goodwill_code
from integration.redemption import InvalidAdjustmentError, ShopNotActiveError, adjust
from integration.web.admin import blueprint, runtime, shop_id

PAGE = 50


def _int(name: str) -> int | None:
    text = (request.args.get(name) or "").strip()
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _date(name: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def member_filter() -> reports.MemberFilter:
    return reports.MemberFilter(query=request.args.get("q", ""), tier=request.args.get("tier", ""),
                                min_points=_int("min_points"), max_points=_int("max_points"),
                                ordered_since=_date("since"), ordered_before=_date("before"))


@blueprint.get("/members")
def members():  # type: ignore[no-untyped-def]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    with runtime().db.read() as conn:
        rows, total = reports.search_members(conn, shop_id(), member_filter(), limit=PAGE, offset=(page - 1) * PAGE)
        program = repo.current_program(conn, shop_id())
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/members.html", rows=rows, total=total, page=page, pages=max((total + PAGE - 1) // PAGE, 1),
                           tiers=[t.name for t in program.tiers], args=request.args, query=query)


@blueprint.get("/members.csv")
def export_members():  # type: ignore[no-untyped-def]
    wanted, owner, db = member_filter(), shop_id(), runtime().db

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(reports.EXPORT_COLUMNS)
        with db.read() as conn:
            for count, row in enumerate(reports.export_members(conn, owner, wanted), 1):
                writer.writerow(["" if v is None else v for v in row])
                if count % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=members.csv"})


def _member_page(member_id: int, status: int = 200, **messages: Any) -> Any:
    rt = runtime()
    with rt.db.read() as conn:
        try:
            member = views.member_view(conn, shop_id(), member_id, rt.clock())
        except repo.NotFoundError:
            abort(404, "no such member in this shop")
        ledger = views.ledger_view(conn, shop_id(), member_id, limit=200)
        codes = reports.member_redemptions(conn, shop_id(), member_id)
    return render_template("admin/member.html", m=member, ledger=ledger, codes=codes, kinds=GOODWILL_KINDS,
                           form=request.form, **messages), status


@blueprint.get("/members/<int:member_id>")
def member(member_id: int):  # type: ignore[no-untyped-def]
    return _member_page(member_id, notice=request.args.get("done", ""))


@blueprint.post("/members/<int:member_id>/adjust")
def adjust_member(member_id: int):  # type: ignore[no-untyped-def]
    rt = runtime()
    key = request.form.get("key") or uuid.uuid4().hex  # the form's own key: a double submit adjusts once
    try:
        points = int((request.form.get("points") or "").strip())
    except ValueError:
        return _member_page(member_id, 422, adjust_error="points must be a whole number, e.g. 50 or -20")
    try:
        with rt.db.write() as conn:
            adjust(conn, shop_id(), member_id, points, request.form.get("reason") or "", rt.clock(),
                   key=f"admin:{member_id}:{key}")
    except repo.NotFoundError:
        abort(404, "no such member in this shop")
    except InvalidAdjustmentError as error:
        return _member_page(member_id, 422, adjust_error=str(error))
    return redirect(url_for("admin.member", member_id=member_id, done="adjusted"), 303)


@blueprint.post("/members/<int:member_id>/goodwill")
def goodwill(member_id: int):  # type: ignore[no-untyped-def]
    rt = runtime()
    try:
        days = int(request.form.get("validity_days") or 30)
        with rt.db.write() as conn:
            give_goodwill_code(conn, shop_id(), member_id, kind=request.form.get("kind", ""),
                               value=request.form.get("value", ""), reason=request.form.get("reason", ""),
                               now=rt.clock(), validity_days=days)
    except repo.NotFoundError:
        abort(404, "no such member in this shop")
    except ValueError:
        return _member_page(member_id, 422, goodwill_error="validity must be a whole number of days")
    except (InvalidGoodwillError, ShopNotActiveError) as error:
        return _member_page(member_id, 422, goodwill_error=str(error))
    rt.outbox_runner().run_due(rt.clock(), limit=5)  # try the store write now; the outbox retries otherwise
    return redirect(url_for("admin.member", member_id=member_id, done="goodwill"), 303)
