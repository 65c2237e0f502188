"""The JSON API under schemathesis: requests generated from /api/v1/openapi.json (served by the
app itself, read through WSGI: nothing leaves the process), valid and invalid alike. No answer may
be a 500, every answer is JSON, and a request with a forged key is refused and changes nothing.

(schemathesis' own pytest plugin does not run under this pytest, so each operation's strategy is
driven by hypothesis here.)"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import func, select

from integration.db.tables import ledger_entries, redemptions
from tests.fuzz.conftest import FUZZ_EXAMPLES


def operations(fuzz_app):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app.client.application)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 12
    return found


def fuzz(operation, examples: int, check) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case) -> None:  # type: ignore[no-untyped-def]
        check(case)

    run()


def test_api_answers_every_generated_request_without_a_server_error(fuzz_app):  # type: ignore[no-untyped-def]
    def check(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(headers={"Authorization": f"Bearer {fuzz_app.key}"})
        case.validate_response(response, checks=(not_a_server_error,))
        content_type = (response.headers.get("content-type") or [""])[0]
        assert content_type.startswith("application/json"), (case.method, case.path, response.status_code)

    for operation in operations(fuzz_app):
        fuzz(operation, max(5, FUZZ_EXAMPLES // 3), check)


def test_a_forged_key_is_refused_and_changes_nothing(fuzz_app):  # type: ignore[no-untyped-def]
    def check(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(headers={"Authorization": "Bearer lb_forged-key"})
        # 404 only where no route matches at all (an id past 64 bits): nothing is looked up then
        assert response.status_code in (401, 404), (case.method, case.path, response.status_code)

    for operation in operations(fuzz_app):
        fuzz(operation, 3, check)
    with fuzz_app.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(redemptions)).scalar_one() == 0
