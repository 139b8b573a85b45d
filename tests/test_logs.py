"""A database that is away, as the logs say it: one line, the error class and the retry, never
the SQL or a traceback; in JSON mode one record with those as fields. The error is a real one:
a connection refused by a closed port on this machine."""

from __future__ import annotations

import io
import json
import logging
import socket

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from listener.logs import JsonFormatter, db_unavailable
from listener.store.db import unavailable


@pytest.fixture(scope="module")
def refused() -> OperationalError:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none?connect_timeout=2")
    with pytest.raises(OperationalError) as info:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert unavailable(info.value)
    return info.value


def test_text_mode_says_it_in_one_progress_line(refused):
    lines: list[str] = []
    said = db_unavailable("X: search United", refused, "trying again in 5 s", retry_in_s=5.0,
                          echo=lines.append)
    assert lines == [said]
    assert said == ("X: search United: the database is unavailable (OperationalError); "
                    "trying again in 5 s")


def test_json_mode_is_one_record_with_the_fields(refused):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    echoed: list[str] = []
    try:
        db_unavailable("stage listener.jobs.score", refused, "the next pipeline run retries it",
                       echo=echoed.append, stage="listener.jobs.score")
    finally:
        root.removeHandler(handler)
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert not echoed  # the record is the line, not a second one beside it
    assert record["event"] == "db_unavailable" and record["level"] == "warning"
    assert record["error"] == "OperationalError" and record["stage"] == "listener.jobs.score"
    assert record["retry"] == "the next pipeline run retries it" and "exception" not in record
    assert "127.0.0.1" not in line and "SELECT" not in line  # the error's own text stays out
