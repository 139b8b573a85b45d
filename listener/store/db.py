"""Opening a database: engine, SQLite pragmas, and Alembic migrations applied on open."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from listener.errors import ConfigError
from listener.store import rollup

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the dashboard read while a collector writes; NORMAL sync is safe under WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Deleted content is overwritten, not left in free pages (erasure depends on it; some
    # builds enable it by default, none should be relied on).
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Row ids are hashes, so inserts land all over the B-trees: a roomy page cache keeps them
    # in memory (256 MB at most; SQLite only takes what it uses).
    cur.execute("PRAGMA cache_size=-262144")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def unavailable(exc: BaseException) -> bool:
    """Whether a database error says the database is away (a restart, a failover, a lost
    connection, SQLite's lock held past its timeout), not that it refused what was sent: the
    caller should retry the same work later instead of giving any record up."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None) or exc
    name = getattr(orig, "sqlite_errorname", None)
    if name is not None:
        return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    if type(orig).__name__ != "OperationalError" and not type(orig).__module__.startswith(
            "psycopg.errors"):
        return False
    state = getattr(orig, "sqlstate", None)
    # No SQLSTATE: the client's own connection failure. 08: connection exception; 57P: the
    # server shutting down or starting (admin/crash shutdown, cannot connect now).
    return (state is None and type(orig).__name__ == "OperationalError") or (
        state is not None and state.startswith(("08", "57P")))


def lost_race(exc: BaseException) -> bool:
    """Whether PostgreSQL gave the transaction up to break a deadlock (40P01) or a
    serialization conflict (40001): nothing was wrong with what was sent, and the same
    transaction run again succeeds."""
    state = getattr(getattr(exc, "orig", None) or exc, "sqlstate", None)
    return state in ("40P01", "40001")


def create(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created on the way."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ConfigError(f"UNDERTOW_DATABASE_URL is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(f"Unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def migrate(engine: Engine, id_key: bytes | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent); `id_key` is what migration 0014 re-keys
    author ids with (`listener.id_key.load()` when not given)."""
    cfg = Config()
    cfg.attributes["id_key"] = id_key
    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if revision == "head":  # the rollup's tables arrive with a migration
            rollup.ensure(conn)


def safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say nothing that could hold a secret
        return "(unreadable database URL)"
