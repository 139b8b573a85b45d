"""Detection reads mentions through the driver's own cursor (listener/store/detect_reads.py);
a server that goes away mid-read must look like SQLAlchemy's own lost connection: flagged as
the database away, and the dead connection dropped instead of rolled back (which the pool logs
as an error with a traceback: CI caught it during a PostgreSQL outage in `listen`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, event, exc, text

from listener.post import Batch, Post
from listener.store import detect_reads
from listener.store.db import unavailable


def test_a_connection_cut_mid_read_is_the_database_away(pg_store, pg_url, caplog):
    pg_store.add_brand("United", "@united")
    pg_store.write(Batch(posts=[Post("x", f"p{i}", f"a{i}", f"@united late {i}",
                                     datetime(2026, 1, 1, 0, i, tzinfo=UTC)) for i in range(5)]))
    engine = pg_store.engine
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")

    def cut(conn):  # the server ends this session as soon as it is checked out
        pid = conn.connection.dbapi_connection.info.backend_pid  # no SQLAlchemy transaction
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

    event.listen(engine, "engine_connect", cut)
    caplog.set_level(logging.ERROR, logger="sqlalchemy.pool")
    try:
        with pytest.raises(exc.OperationalError) as raised:
            list(detect_reads.rows(engine, None, None, page_size=100))
    finally:
        event.remove(engine, "engine_connect", cut)
        admin.dispose()
    assert raised.value.connection_invalidated and unavailable(raised.value)
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy.pool")], caplog.text
    assert len(list(detect_reads.rows(engine, None, None, page_size=100))) == 1  # reads again
