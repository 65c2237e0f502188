"""The merchant's pages under `/admin`: dashboard, settings with a preview on real orders,
members, import, donations. Parse, call one use case, render; sign-in and CSRF in `admin_auth`.

Every query takes the shop id of the session (`g.admin.shop_id`) and nothing else: an id from
another shop in a URL is simply not found (404).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, make_response, redirect, render_template, request, url_for

from integration import metrics, reports
from integration.db import repo
from integration.program import ProgramError, program_to_dict, validate, program_from_dict
from integration.redemption import update_program
from integration.runtime import Runtime
from integration.simulator import compare, figure_rows, load_orders
from integration.web import admin_auth, admin_charts, admin_settings

blueprint = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                      static_folder="static", static_url_path="/static")
PUBLIC = {"admin.login", "admin.static", "admin.signed_out"}


def runtime() -> Runtime:
    return current_app.extensions["loyalty"]


def now() -> datetime:
    return runtime().clock()


@blueprint.before_request
def _authenticate():  # type: ignore[no-untyped-def]
    if request.endpoint in PUBLIC:
        return None
    rt = runtime()
    token = admin_auth.shopify_session_token()
    if token:
        shop_id = admin_auth.shop_for_session_token(rt, token)
        if shop_id is None:
            response = make_response(render_template("admin/signed_out.html", reason="invalid"), 401)
            response.headers["X-Shopify-Retry-Invalid-Session-Request"] = "1"
            return response
        via_header = request.headers.get("Authorization", "").lower().startswith("bearer")
        session = admin_auth.session_from_cookie(rt)
        if session is None or session.shop_id != shop_id:
            g.admin = admin_auth.new_session(shop_id, "shopify")
            g.new_session = True
        else:
            g.admin = session
        g.bearer = via_header
        return None
    session = admin_auth.session_from_cookie(rt)
    if session is None:
        if request.args.get("shop") and request.args.get("host"):  # embedded load without a token yet
            return render_template("admin/bounce.html", api_key=rt.settings.shopify.api_key)
        return make_response(render_template("admin/signed_out.html", reason="none"), 401)
    g.admin, g.bearer = session, False
    if request.method == "POST" and not g.bearer:
        admin_auth.check_csrf(session)
    return None


@blueprint.after_request
def _start_session(response: Response) -> Response:
    if getattr(g, "new_session", False):
        admin_auth.set_cookie(runtime(), response, g.admin)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@blueprint.app_template_global()
def csrf_token() -> str:
    return g.admin.csrf if getattr(g, "admin", None) else ""


def shop_id() -> int:
    return g.admin.shop_id


@blueprint.get("/login/<token>")
def login(token: str):  # type: ignore[no-untyped-def]
    rt = runtime()
    with rt.db.write() as conn:
        found = admin_auth.redeem_login_token(conn, token, rt.clock())
    if found is None:
        return make_response(render_template("admin/signed_out.html", reason="link"), 403)
    response = redirect(url_for("admin.dashboard"), 303)
    admin_auth.set_cookie(rt, response, admin_auth.new_session(found, "link"))
    return response


@blueprint.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    response = redirect(url_for("admin.signed_out"), 303)
    admin_auth.end_session(response)
    return response


@blueprint.get("/signed-out")
def signed_out():  # type: ignore[no-untyped-def]
    return render_template("admin/signed_out.html", reason="logout")


@blueprint.get("/")
def dashboard():  # type: ignore[no-untyped-def]
    with runtime().db.read() as conn:
        data = reports.dashboard(conn, shop_id(), now())
    data["queues"] = metrics.health_snapshot(runtime(), shop_id())  # the same numbers as /metrics
    weeks = data["weeks"]
    charts = {
        "points": admin_charts.grouped_bars(
            [w["week"][5:] for w in weeks],
            [("Issued", [w["issued"] for w in weeks]), ("Redeemed", [w["redeemed"] for w in weeks]),
             ("Expired", [w["expired"] for w in weeks])], title="Points per week"),
        "tiers": admin_charts.horizontal_bars(data["members_per_tier"], title="Members per tier"),
    }
    return render_template("admin/dashboard.html", d=data, charts=charts)


# -- settings --------------------------------------------------------------------------------

def _shop_timezone() -> str:
    with runtime().db.read() as conn:
        return repo.shop_row(conn, shop_id()).timezone


def _render_settings(values: dict[str, str], problems: dict[str, list[str]] | None = None,
                     figures: list[tuple[str, str, str]] | None = None, status: int = 200,
                     message: str = "") -> Any:
    with runtime().db.read() as conn:
        program = repo.current_program(conn, shop_id())
        shop = repo.shop_row(conn, shop_id())
    rows = {name: row_list(values, name) for name in admin_settings.LISTS}
    body = render_template("admin/settings.html", v=values, problems=problems or {}, rows=rows, figures=figures,
                           program=program, shop=shop, message=message)
    return make_response(body, status)


def row_list(values: dict[str, str], name: str) -> list[int]:
    existing = admin_settings.row_indices(values, name)
    return [*existing, (max(existing) + 1) if existing else 0]  # one blank row to add an entry


@blueprint.get("/settings")
def settings():  # type: ignore[no-untyped-def]
    with runtime().db.read() as conn:
        program = repo.current_program(conn, shop_id())
    return _render_settings(admin_settings.form_values(program, _shop_timezone()),
                            message=request.args.get("saved") and f"Saved as version {program.version}." or "")


def _proposed() -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """The submitted program's JSON form, or every problem to show next to its input: values
    that cannot be read at all (a word where a number goes) and, for the rest, the program's
    own validation."""
    data, rows = admin_settings.parse_form(request.form, _shop_timezone())
    try:
        program = program_from_dict(data)
    except ProgramError as error:
        unreadable = admin_settings.form_problems(error.problems, rows)
        readable, kept = admin_settings.without(data, rows, error.problems)
        try:
            rest = validate(replace(program_from_dict(readable), version=1))
        except ProgramError:
            rest = []
        shown = admin_settings.form_problems(rest, kept)
        for path, messages in unreadable.items():
            shown.setdefault(path, []).extend(messages)
        return None, shown
    problems = validate(replace(program, version=1))
    if problems:
        return None, admin_settings.form_problems(problems, rows)
    return data, {}


@blueprint.post("/settings/preview")
def preview():  # type: ignore[no-untyped-def]
    data, problems = _proposed()
    if data is None:
        return _render_settings(request.form.to_dict(), problems, status=422)
    rt = runtime()
    with rt.db.read() as conn:
        current = repo.current_program(conn, shop_id())
        history = load_orders(conn, shop_id())
        currency = reports.shop_currency(conn, shop_id())
    before, after = compare(current, program_from_dict(data), history, rt.clock())
    return _render_settings(request.form.to_dict(), figures=figure_rows(before, after, currency))


@blueprint.post("/settings")
def save_settings():  # type: ignore[no-untyped-def]
    data, problems = _proposed()
    if data is None:
        return _render_settings(request.form.to_dict(), problems, status=422)
    rt = runtime()
    try:
        with rt.db.write() as conn:
            update_program(conn, shop_id(), data, rt.clock(), note=(request.form.get("note") or "settings page")[:255])
    except ProgramError as error:  # e.g. changed under us; shown like any other problem
        return _render_settings(request.form.to_dict(), admin_settings.form_problems(error.problems, {}), status=422)
    return redirect(url_for("admin.settings", saved=1), 303)


@blueprint.post("/campaigns/<campaign_id>/stop")
def stop_campaign(campaign_id: str):  # type: ignore[no-untyped-def]
    rt = runtime()
    with rt.db.write() as conn:
        program = repo.current_program(conn, shop_id())
        if not any(c.campaign_id == campaign_id and c.active for c in program.campaigns):
            abort(404, "no running campaign with that id")
        stopped = replace(program, campaigns=tuple(replace(c, active=False) if c.campaign_id == campaign_id else c
                                                   for c in program.campaigns))
        update_program(conn, shop_id(), program_to_dict(stopped), rt.clock(), note=f"stopped campaign {campaign_id}")
    return redirect(url_for("admin.settings", saved=1), 303)


@blueprint.get("/settings/versions")
def versions():  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from integration.db.tables import programs
    with runtime().db.read() as conn:
        listed = conn.execute(select(programs.c.version, programs.c.note, programs.c.created_at)
                              .where(programs.c.shop_id == shop_id()).order_by(programs.c.version.desc())).all()
        latest = listed[0].version if listed else 1
        new = request.args.get("b", latest, type=int)
        old = request.args.get("a", max(new - 1, 1), type=int)
        try:
            before, after = repo.program_version(conn, shop_id(), old), repo.program_version(conn, shop_id(), new)
        except repo.NotFoundError:
            abort(404)
    changes = admin_settings.diff(program_to_dict(before), program_to_dict(after))
    return render_template("admin/versions.html", versions=listed, old=old, new=new, changes=changes)


from integration.web import admin_data, admin_members, admin_referrals  # noqa: E402,F401  (their routes join the blueprint)
