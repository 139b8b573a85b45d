"""Upgrading a store keeps what it holds.

A migration that rebuilds a table on SQLite (Alembic's batch mode) drops the old one, and with
foreign keys on that cascades to every row that hangs on it: scores, brand tags, interactions.
This builds a store at the oldest revision still in use (0009, the last one released), fills it
through the plain SQL of that schema, upgrades to the newest and counts.
"""

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from listener.store import db

ROWS = {
    "authors": ("INSERT INTO authors (id, platform, native_id, handle, updated_at) "
                "VALUES (1, 'x', 'a1', 'ann', '2026-01-01 10:00:00')"),
    "posts": "INSERT INTO posts (id, platform, native_id, author_id, text, created_at, "
             "collected_at) VALUES (10, 'x', 'p1', 1, 'late again', '2026-01-01 10:00:00', "
             "'2026-01-01 10:00:00'), (11, 'x', 'p2', 1, 'rt', '2026-01-01 10:05:00', "
             "'2026-01-01 10:05:00')",
    "brands": ("INSERT INTO brands (id, name, query, created_at) "
               "VALUES (1, 'Acme', 'late', '2026-01-01 09:00:00')"),
    "post_brands": "INSERT INTO post_brands (post_id, brand_id, created_at) "
                   "VALUES (10, 1, '2026-01-01 10:00:00')",
    "sentiment_scores": "INSERT INTO sentiment_scores (post_id, model_version, label, negative, "
                        "neutral, positive, scored_at) VALUES (10, 'm', 'negative', 0.9, 0.05, "
                        "0.05, '2026-01-01 11:00:00')",
    "interactions": "INSERT INTO interactions (id, platform, kind, source_author_id, "
                    "target_author_id, source_post_id, target_post_id, created_at) VALUES "
                    "(100, 'x', 'repost', 1, 1, 11, 10, '2026-01-01 10:05:00')",
}


def _upgrade(engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_upgrading_a_filled_sqlite_store_keeps_every_row(tmp_path):
    engine = db.create(f"sqlite:///{tmp_path / 'old.db'}")
    _upgrade(engine, "0009")
    with engine.begin() as conn:
        for sql in ROWS.values():
            conn.execute(text(sql))
    _upgrade(engine, "head")
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ROWS}
    engine.dispose()
    assert counts == {"authors": 1, "posts": 2, "brands": 1, "post_brands": 1,
                      "sentiment_scores": 1, "interactions": 1}
