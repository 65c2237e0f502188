"""Referrals on the merchant's pages: results and ROI, the top referrers, the review list
(approve / reject with a reason), and one click to pause or resume the program (a new program
version). Routes of the `admin` blueprint; sign-in and CSRF as for every admin page."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from integration import referral_reports, referrals
from integration.db import repo
from integration.web.admin import blueprint, runtime, shop_id

STATUSES = ("invited", "review", "pending", "credited", "reversed", "blocked", "rejected")


@blueprint.get("/referrals", endpoint="referrals")
def referrals_page():  # type: ignore[no-untyped-def]
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        abort(400, "unknown status")
    with runtime().db.read() as conn:
        summary = referral_reports.summary(conn, shop_id())
        leaders = referral_reports.leaderboard(conn, shop_id())
        review = referrals.list_referrals(conn, shop_id(), "review")
        listed = referrals.list_referrals(conn, shop_id(), status, limit=100)
        settings = repo.current_program(conn, shop_id()).referrals
    return render_template("admin/referrals.html", s=summary, leaders=leaders, review=review, rows=listed,
                           status=status, statuses=STATUSES, settings=settings,
                           message=request.args.get("done", ""))



@blueprint.post("/referrals/<int:referral_id>/approve")
def approve_referral(referral_id: int):  # type: ignore[no-untyped-def]
    rt = runtime()
    try:
        with rt.db.write() as conn:
            referrals.approve(conn, shop_id(), referral_id, rt.clock())
    except repo.NotFoundError:
        abort(404)
    except referrals.NotReviewableError as error:
        abort(409, str(error))
    return redirect(url_for("admin.referrals", done=f"Referral {referral_id} approved."), 303)


@blueprint.post("/referrals/<int:referral_id>/reject")
def reject_referral(referral_id: int):  # type: ignore[no-untyped-def]
    rt = runtime()
    try:
        with rt.db.write() as conn:
            referrals.reject(conn, shop_id(), referral_id, request.form.get("reason", "")[:500], rt.clock())
    except repo.NotFoundError:
        abort(404)
    except referrals.NotReviewableError as error:
        abort(409, str(error))
    return redirect(url_for("admin.referrals", done=f"Referral {referral_id} rejected."), 303)


@blueprint.post("/referrals/pause")
def pause_referrals():  # type: ignore[no-untyped-def]
    return _set_enabled(False)


@blueprint.post("/referrals/resume")
def resume_referrals():  # type: ignore[no-untyped-def]
    return _set_enabled(True)


def _set_enabled(enabled: bool):  # type: ignore[no-untyped-def]
    rt = runtime()
    with rt.db.write() as conn:
        program = referrals.set_enabled(conn, shop_id(), enabled, rt.clock())
    word = "resumed" if enabled else "paused"
    return redirect(url_for("admin.referrals", done=f"Referrals {word}: program version {program.version}."), 303)
