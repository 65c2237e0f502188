"""Failed events (replay), member import (dry run, then a background run with progress), and the
donations report. Routes of the `admin` blueprint."""
from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
import threading
from pathlib import Path

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from integration import importer, reports
from integration.db.tables import import_runs
from integration.replay import replay
from integration.web.admin import blueprint, runtime, shop_id

log = logging.getLogger(__name__)
UPLOADS = Path(tempfile.gettempdir()) / "loyalty-bridge-imports"
SHA = re.compile(r"^[0-9a-f]{64}$")


@blueprint.post("/events/<int:event_id>/replay")
def replay_event(event_id: int):  # type: ignore[no-untyped-def]
    rt = runtime()
    if not replay(rt.db, event_id, rt.clock(), shop_id=shop_id()):
        abort(404, "no such event to replay in this shop")
    return redirect(url_for("admin.dashboard", replayed=event_id), 303)


def _upload_path(sha: str) -> Path:
    return UPLOADS / str(shop_id()) / f"{sha}.csv"


def _runs(limit: int = 20) -> list:
    with runtime().db.read() as conn:
        return conn.execute(select(import_runs).where(import_runs.c.shop_id == shop_id())
                            .order_by(import_runs.c.id.desc()).limit(limit)).all()


@blueprint.get("/import")
def import_page():  # type: ignore[no-untyped-def]
    return render_template("admin/import.html", runs=_runs(), report=None)


@blueprint.post("/import")
def import_dry_run():  # type: ignore[no-untyped-def]
    """Always a dry run first: the report says what would change; applying is a second step."""
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    if not data:
        return render_template("admin/import.html", runs=_runs(), report=None, error="choose a CSV file"), 422
    sha = importer.file_sha(data)
    path = _upload_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    rt = runtime()
    try:
        run_id, report = importer.run_import(rt.db, shop_id(), data, upload.filename or "members.csv", rt.clock(),
                                             dry_run=True)
    except UnicodeDecodeError:
        return render_template("admin/import.html", runs=_runs(), report=None, error="the file is not UTF-8 text"), 422
    return render_template("admin/import.html", runs=_runs(), report=report, sha=sha,
                           filename=upload.filename or "members.csv")


@blueprint.post("/import/apply")
def import_apply():  # type: ignore[no-untyped-def]
    sha = request.form.get("sha", "")
    if not SHA.match(sha) or not _upload_path(sha).exists():
        abort(404, "that upload is gone: upload the file again")
    data = _upload_path(sha).read_bytes()
    rt, owner = runtime(), shop_id()
    filename = (request.form.get("filename") or "members.csv")[:255]
    prepared = importer.prepare_run(rt.db, owner, data, filename, rt.clock(), dry_run=False)

    def work() -> None:
        try:
            importer.execute_run(rt.db, owner, prepared, rt.clock())
        except Exception:  # noqa: BLE001 - execute_run marked the run failed; the page shows it
            log.exception("import run %s failed", prepared.run_id)
    threading.Thread(target=work, name=f"import-{owner}", daemon=True).start()
    return redirect(url_for("admin.import_run", run_id=prepared.run_id), 303)


@blueprint.get("/import/runs/<int:run_id>")
def import_run(run_id: int):  # type: ignore[no-untyped-def]
    with runtime().db.read() as conn:
        run = conn.execute(select(import_runs).where(import_runs.c.shop_id == shop_id(),
                                                     import_runs.c.id == run_id)).first()
    if run is None:
        abort(404, "no such import in this shop")
    return render_template("admin/import_run.html", run=run)


@blueprint.get("/donations")
def donations():  # type: ignore[no-untyped-def]
    with runtime().db.read() as conn:
        rows = reports.donations(conn, shop_id())
        currency = reports.shop_currency(conn, shop_id())
    return render_template("admin/donations.html", rows=rows, currency=currency)


@blueprint.get("/donations.csv")
def donations_csv():  # type: ignore[no-untyped-def]
    with runtime().db.read() as conn:
        rows = reports.donations(conn, shop_id())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["month", "cause", "pledges", "points", "amount"])
    for row in rows:
        writer.writerow([row["month"], row["cause"], row["pledges"], row["points"], row["amount"]])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=donations.csv"})
