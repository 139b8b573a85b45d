"""PostgreSQL compaction waits out every transaction older than the deletion.

VACUUM FULL keeps ("recently dead") the rows deleted after the oldest transaction still
running: one in *another* database counts too (it sets the xmin of VACUUM FULL's own
snapshot), and so does a session of this database idle in transaction after a write (an xid,
no snapshot). Each is held open across the deletion and ended a little later: the erased bytes
must still be gone from the table's file.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from listener.store.erasure import compact
from tests.conftest import ADMIN_URL

HOLD = 1.5  # seconds the older transaction stays open after the deletion


def _meta_file_bytes(store) -> bytes:
    with store.engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")  # buffers reach the file
        return bytes(conn.execute(text(
            "SELECT pg_read_binary_file(pg_relation_filepath('meta'))")).scalar())


@pytest.mark.parametrize("where", ["another database", "this database"])
def test_compaction_outwaits_an_older_transaction(pg_store, pg_url, where):
    needle = f"erased-{uuid.uuid4().hex}"
    with pg_store.engine.begin() as conn:
        conn.execute(text("INSERT INTO meta (key, value) VALUES (:k, :v)"),
                     {"k": needle, "v": needle})
    assert needle.encode() in _meta_file_bytes(pg_store)

    other = create_engine(ADMIN_URL if where == "another database" else pg_url)
    older = other.connect()
    older.execute(text("SELECT pg_current_xact_id()"))  # an xid, then idle in transaction
    try:
        with pg_store.engine.begin() as conn:
            conn.execute(text("DELETE FROM meta WHERE key = :k"), {"k": needle})
        timer = threading.Timer(HOLD, older.commit)
        timer.start()
        began = time.monotonic()
        compact(pg_store)
        waited = time.monotonic() - began
        timer.join()
    finally:
        older.close()
        other.dispose()

    assert needle.encode() not in _meta_file_bytes(pg_store)
    assert waited >= HOLD * 0.9  # it waited for the older transaction, not for luck
