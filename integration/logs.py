"""Logging: plain text or one JSON object per line, request ids, and no secrets or personal data.

`setup_logging(level, "json")` (`loyalty --log-format json …` or `server.log_format = "json"`)
writes `{"ts", "level", "logger", "message", "request_id", "exc"}` lines for a log shipper. Every
record passes `RedactingFilter` first, in either format: access tokens (`shpat_…`, refresh tokens,
Bearer values, WooCommerce `ck_`/`cs_` keys, our `lb_` API keys, Fernet tokens), secrets written
as `key=value` or `"key": "value"`, and email addresses are replaced before anything is written.
The request id comes from the `X-Request-Id` header (or is made up) and is echoed in the answer.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import datetime, timezone

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("loyalty_request_id", default="-")
REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(shp(?:at|ca|pa|rt|ss|ua)_)[A-Za-z0-9]+"), r"\1[redacted]"),
    (re.compile(r"\b((?:ck|cs)_)[A-Za-z0-9]{8,}"), r"\1[redacted]"),
    (re.compile(r"\blb_[A-Za-z0-9_-]{8,}"), "lb_[redacted]"),
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), "[redacted]"),  # a Fernet token (an encrypted secret)
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 [redacted]"),
    (re.compile(r"""(?ix)(["']?(?:[a-z_-]*(?:token|secret|password|passwd|api[_-]?key|authorization|
                     consumer[_-]?key|hmac|signature|cookie))["']?\s*[:=]\s*)
                     (?:"[^"]*"|'[^']*'|[^\s,&;}]+)"""), r"\1[redacted]"),
    (re.compile(r"([?&](?:code|state|hmac|session|id_token)=)[^&\s\"']+"), r"\1[redacted]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
)


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the message (arguments merged in) and any traceback before a handler sees them,
    and stamps the request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # the redacted text above stands in for it
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def handler_for(log_format: str, stream=None) -> logging.Handler:  # type: ignore[no-untyped-def]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name("loyalty")
    return handler


def setup_logging(level: int = logging.INFO, log_format: str = "text", stream=None, *,  # type: ignore[no-untyped-def]
                  if_unconfigured: bool = False) -> None:
    """Install (or replace: calling it twice switches the format) the root logger's handler.
    With `if_unconfigured`, as `logging.basicConfig`: leave a root logger that already has other
    handlers alone (a host such as a test runner configured it)."""
    root = logging.getLogger()
    ours = [existing for existing in root.handlers if existing.get_name() == "loyalty"]
    if if_unconfigured and len(root.handlers) > len(ours):
        return
    for existing in ours:
        root.removeHandler(existing)
    root.addHandler(handler_for(log_format, stream))
    root.setLevel(level)


def request_id_from(header: str | None) -> str:
    """The caller's id when it looks like one (a proxy's or a load balancer's), else a new one."""
    return header if header and REQUEST_ID_SHAPE.match(header) else uuid.uuid4().hex
