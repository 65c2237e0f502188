"""Log lines carry no secrets and no personal data, in text or JSON, and name their request."""
from __future__ import annotations

import io
import json
import logging

from integration.logs import REQUEST_ID, RedactingFilter, redact, request_id_from, setup_logging


def test_tokens_keys_and_emails_are_redacted() -> None:
    line = ('refresh for jane.doe@example.com with shpat_0123456789abcdef, refresh shprt_99aa; '
            '{"access_token": "abc", "consumer_secret": "cs_0123456789abcdef0123"} key lb_AbCdEf0123456789 '
            'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig api_secret=hunter2 '
            'GET /shopify/callback?code=c0de&shop=x.myshopify.com&state=st4te&hmac=ff00 '
            'stored gAAAAABl0123456789abcdefghijklmnopqrstuv')
    cleaned = redact(line)
    for secret in ("jane.doe", "example.com", "0123456789abcdef", "99aa", '"abc"', "AbCdEf", "eyJhbGci", "hunter2",
                   "c0de", "st4te", "ff00", "gAAAAABl"):
        assert secret not in cleaned, secret
    assert "x.myshopify.com" in cleaned  # shop domains stay: they are not personal


def test_json_lines_carry_the_request_id_and_redacted_traceback() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("loyalty.test.json")
    handler_root = logging.getLogger()
    before = list(handler_root.handlers), handler_root.level
    setup_logging(logging.INFO, "json", stream)
    token = REQUEST_ID.set("req-42")
    try:
        try:
            raise ValueError("refused token shpat_secret123 for ada@example.org")
        except ValueError:
            logger.exception("call failed for %s", "ada@example.org")
    finally:
        REQUEST_ID.reset(token)
        for handler in list(handler_root.handlers):
            if handler not in before[0]:
                handler_root.removeHandler(handler)
        handler_root.setLevel(before[1])
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"], entry["request_id"]) == (
        "ERROR", "loyalty.test.json", "call failed for [email]", "req-42")
    assert "ValueError: refused token shpat_[redacted] for [email]" in entry["exc"]
    assert "secret123" not in line and "ada@" not in line


def test_the_filter_rewrites_arguments_once() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s for %s", ("shpat_abcdef", "b@c.io"), None)
    assert RedactingFilter().filter(record)
    assert (record.getMessage(), record.args) == ("token shpat_[redacted] for [email]", None)


def test_request_ids_are_taken_only_when_they_look_like_one() -> None:
    assert request_id_from("lb-7f3a.1") == "lb-7f3a.1"
    assert len(request_id_from("bad id\nwith newline")) == 32
    assert len(request_id_from(None)) == 32
