"""Logging set-up: readable lines for people, or one JSON object per line for a log pipeline.

With UNDERTOW_LOG_FORMAT=json every record, including the listener's progress lines, is one
JSON object (`ts`, `level`, `logger`, `message`, plus the event's own fields), and the
`undertow.events` logger adds machine-readable events: each source pass, each pipeline run.
In text mode those events stay quiet; the progress lines already say the same in words.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["FORMATS", "JsonFormatter", "configure", "event", "json_mode"]

FORMATS = ("text", "json")
_events = logging.getLogger("undertow.events")


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
