"""After `undertow erase`, no byte of the person is left in the database files, WAL or exports,
and every other author's rows are as they were."""

from __future__ import annotations

import struct
from pathlib import Path

from sqlalchemy import text

from tests.concurrency.conftest import BRANDS, gold_scores

SUBJECT = "throthra"  # the sample's most prolific author (27 tweets)


def _needles(store) -> tuple[list[bytes], dict]:
    with store.engine.connect() as conn:
        author = conn.execute(text("SELECT id, native_id FROM authors WHERE lower(handle) = :h"),
                              {"h": SUBJECT.lower()}).one()
        posts = conn.execute(text("SELECT id, native_id, text FROM posts WHERE author_id = :a"),
                             {"a": author.id}).all()
    needles = [SUBJECT.encode(), SUBJECT.lower().encode(), str(author.id).encode(),
               struct.pack(">q", author.id), struct.pack("<q", author.id)]
    needles += [p.native_id.encode() for p in posts]
    needles += [p.text.encode() for p in posts if len(p.text) >= 40]
    return needles, {"author": author.id, "posts": len(posts)}


def _others(store, erased: int) -> dict:
    with store.engine.connect() as conn:
        return {
            "authors": {tuple(r) for r in conn.execute(text(
                "SELECT id, native_id, handle, followers FROM authors WHERE id <> :a"),
                {"a": erased})},
            "posts": {r[0] for r in conn.execute(text(
                "SELECT id FROM posts WHERE author_id <> :a"), {"a": erased})},
        }


def _database_bytes(store, env) -> list[tuple[str, bytes]]:
    if store.dialect == "sqlite":
        db = Path(env.url.removeprefix("sqlite:///"))
        return [(str(p), p.read_bytes()) for p in db.parent.glob(db.name + "*") if p.is_file()]
    found = []
    with store.engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")  # buffers reach the files
        rows = conn.execute(text(
            "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't') "
            "AND pg_relation_filepath(c.oid) IS NOT NULL")).all()
        for name, path in rows:
            data = conn.execute(text("SELECT pg_read_binary_file(:p)"),
                                {"p": path}).scalar()
            if data:
                found.append((name, bytes(data)))
    return found


def test_erase_leaves_no_byte_of_the_person_and_nothing_else_changes(stores, small_airline):
    env = stores.fresh()
    env.run("import", str(small_airline))
    for name, query in BRANDS.items():
        env.run("brand", "add", name, "--query", query)
    store = env.store()
    gold_scores(store)
    env.run("detect")
    env.run("rank")
    env.run("graph", "export", "--format", "csv")
    needles, subject = _needles(store)
    before = _others(store, subject["author"])
    exports = env.home / "exports"
    assert any(needles[2] in p.read_bytes() for p in exports.rglob("*") if p.is_file())
    assert any(any(n in data for n in needles) for _, data in _database_bytes(store, env))
    store.close()

    out = env.run("erase", "--author", f"x:@{SUBJECT}")
    assert "Erased author" in out

    store = env.store()
    after = _others(store, subject["author"])
    assert after == before, "every other author and every other author's post stays"
    places = _database_bytes(store, env) + [
        (str(p), p.read_bytes()) for p in env.home.rglob("*") if p.is_file()
        and p.suffix not in (".db", ".out", ".err") and "undertow.db" not in p.name]
    store.close()
    left = [(where, n[:40]) for where, data in places for n in needles
            if n in data or n.lower() in data.lower()]
    assert left == []
