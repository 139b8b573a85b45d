"""Logging set-up: readable lines for people, or one JSON object per line for a log pipeline.

With UNDERTOW_LOG_FORMAT=json every record, including the listener's progress lines, is one
JSON object (`ts`, `level`, `logger`, `message`, plus the event's own fields), and the
`undertow.events` logger adds machine-readable events: each source pass, each pipeline run.
In text mode those events stay quiet; the progress lines already say the same in words.

A database that is away (a restart, a failover) is not a bug: `db_unavailable` reports it as
one line (event `db_unavailable`: where, the error class, the retry), never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from datetime import UTC, datetime
from typing import Any

__all__ = ["FORMATS", "JsonFormatter", "configure", "db_unavailable", "event", "json_mode"]

FORMATS = ("text", "json")
_events = logging.getLogger("undertow.events")
_db = logging.getLogger("undertow.db")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str, fmt: str = "text") -> None:
    """Root logging to stderr at `level`, as text or JSON lines.

    Like `logging.basicConfig`, it leaves a root logger that someone else configured (a host
    application, pytest) with its own handlers; it replaces only the handler it added itself.
    """
    _events.setLevel(logging.INFO if fmt == "json" else logging.WARNING)
    if fmt == "json":  # a progress bar or a library's own handler would break the one-JSON-
        # object-a-line stream: Hugging Face's bars off, transformers' chatter to errors only
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        # (a library turning its bars back on is told it may not: that is the point)
        warnings.filterwarnings("ignore", message="Cannot enable progress bars")
        logging.captureWarnings(True)  # Python warnings as JSON records, not raw lines
    root = logging.getLogger()
    root.setLevel(level)
    if any(not getattr(h, "_undertow", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._undertow = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]


def event(name: str, **fields: Any) -> None:
    """A structured event (JSON mode only): `name` is the message, `fields` its data."""
    _events.info(name, extra={"fields": {"event": name, **fields}})


def json_mode() -> bool:
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def db_unavailable(where: str, exc: BaseException, retry: str,
                   retry_in_s: float | None = None, echo: Any = None, **fields: Any) -> str:
    """Report that the database is away as one line, and return that line.

    `where` is what was interrupted ("X: search @united", "stage listener.jobs.score"), `retry`
    what happens next ("retrying in 5 s"). JSON logs get one warning record with the fields
    `event` ("db_unavailable"), `where`, `error` (the driver's error class), `sqlstate`,
    `retry` and `retry_in_s`; text logs get the line through `echo` (the listener's progress
    lines) or as a warning. The error's own text (SQL, parameters) is left out on purpose.
    """
    orig = getattr(exc, "orig", None) or exc
    error = type(orig).__name__
    message = f"{where}: the database is unavailable ({error}); {retry}"
    if json_mode():
        _db.warning(message, extra={"fields": {
            "event": "db_unavailable", "where": where, "error": error,
            "sqlstate": getattr(orig, "sqlstate", None), "retry": retry,
            "retry_in_s": retry_in_s, **fields}})
    elif echo is not None:
        echo(message)
    else:
        _db.warning(message)
    return message
