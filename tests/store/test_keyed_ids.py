"""Keyed author ids and migration 0014, which re-keys a store filled under revision 0010.

A real store is filled at revision 0010 the way that revision wrote it (unkeyed author ids:
`stable_id(platform, native id)`), with 2,000 real airline tweets, brands, scores, a ranking,
detection and an alert whose evidence names authors; it is then opened, which migrates it.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text

from listener.errors import ConfigError
from listener.ids import AuthorIds, keyed
from listener.importers import import_file
from listener.jobs.detect import detect
from listener.jobs.rank import rank
from listener.post import stable_id
from listener.store import Store, db
from listener.store.alerts import upsert_story
from listener.store.erasure import erase_author
from listener.store.personal import AUTHOR_ID_COLUMNS, JSON_COLUMNS
from tests.concurrency.conftest import BRANDS, _head, gold_scores

# The newest revision: 0014 and every later one have run.
HEAD = ScriptDirectory(str(db.MIGRATIONS)).get_current_head()

REPO = Path(__file__).resolve().parents[2]
KEY = b"migration-test-key-0123456789"
OTHER = b"another-key-for-the-same-store"


class Unkeyed:
    """Author ids as revision 0010 wrote them."""

    check = "unkeyed"

    def __call__(self, platform: str, native_id: str) -> int:
        return stable_id(platform, native_id)

    def derive(self, purpose: bytes) -> bytes:
        return b"0010-erasure-salt"


@pytest.fixture(scope="module")
def tweets(shared_data, tmp_path_factory) -> Path:
    source = shared_data / "airline" / "Tweets.csv"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    return _head(source, 2000, tmp_path_factory.mktemp("airline") / "Tweets.csv")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'undertow.db'}"
        return
    # A database of its own, as tests/concurrency's byte search has: no other session of the
    # run can be connected to it, so VACUUM FULL can drop every dead row. (On the shared test
    # database the full suite once found old bytes left in `authors`; not reproduced alone.)
    pg = make_url(request.getfixturevalue("pg_url"))
    name = f"{pg.database}_k{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fill_at_0010(url: str, tweets: Path, rows: int | None = None) -> None:
    """A store at revision 0010 as that revision's code filled it."""
    engine = db.create(url)
    db.migrate(engine, KEY, revision="0010")
    store = Store(engine)
    store._author_ids = Unkeyed()
    import_file(store, tweets if rows is None else
                _head(tweets, rows, tweets.with_name(f"head{rows}.csv")))
    for name, query in BRANDS.items():
        store.add_brand(name, query)
    gold_scores(store)
    rank(store, echo=lambda _: None)
    detect(store, echo=lambda _: None)
    with engine.connect() as conn:
        top = [r[0] for r in conn.execute(text(
            "SELECT author_id FROM influence_scores ORDER BY rank LIMIT 3"))]
        post = conn.execute(text("SELECT id FROM posts WHERE author_id = :a LIMIT 1"),
                            {"a": top[0]}).scalar()
    # Evidence naming authors every way a JSON copy can: ints, text, dict keys.
    upsert_story(store, store.brand("United").id, "hand-made", 0.7, "a story", {
        "root_posts": [{"id": post, "author": "someone"}],
        "influencers": [{"author_id": top[0], "handle": "h", "rank": 1}],
        "path": [{"source": top[1], "target": top[2], "kind": "repost"}],
        "by_author": {str(top[1]): 4}, "note": f"ids {top[2]} and {post}"})
    store.set_meta({"coordination": json.dumps({"clusters": [top]})})  # as `flag` saves it
    store.close()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value  # PostgreSQL's driver parses


def read_all(url: str) -> dict:
    """Every author id column and JSON copy, as plain data."""
    engine = db.create(url)
    out: dict = {}
    with engine.connect() as conn:
        for table, column in AUTHOR_ID_COLUMNS:
            out[(table, column)] = sorted(r[0] for r in conn.execute(text(
                f"SELECT {column} FROM {table}")))
        out["authors"] = {r.id: (r.platform, r.native_id, r.handle) for r in conn.execute(
            text("SELECT id, platform, native_id, handle FROM authors"))}
        out["posts"] = dict(conn.execute(text("SELECT id, author_id FROM posts")).all())
        out["interactions"] = {r[0]: (r[1], r[2]) for r in conn.execute(text(
            "SELECT id, source_author_id, target_author_id FROM interactions"))}
        out["scores"] = {(r[0], r[1]): r[2] for r in conn.execute(text(
            "SELECT run_id, author_id, rank FROM influence_scores"))}
        for table, column in JSON_COLUMNS:
            out[f"{table}.{column}"] = {r[0]: _json(r[1]) if column != "title" else r[1]
                                        for r in conn.execute(text(
                                            f"SELECT id, {column} FROM {table} ORDER BY id"))}
        for key in ("detect_state", "coordination"):
            value = conn.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": key}).scalar()
            out[key] = json.loads(value) if value else None
        out["version"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        out["meta"] = dict(conn.execute(text("SELECT key, value FROM meta")).all())
    engine.dispose()
    return out


def leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield path + ("key",), k
            yield from leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, path + (i,))
    else:
        yield path, value


def json_changes(before, after, old_ids: set[int], key: bytes) -> int:
    """Leaves that changed: each must be an old author id turned into its keyed id."""
    pairs = list(zip(leaves(before), leaves(after), strict=True))
    changed = 0
    for (_, b), (_, a) in pairs:
        if a == b:
            continue
        changed += 1
        if isinstance(b, int):
            assert b in old_ids and a == keyed(key, b)
        else:  # ids inside text or as dict keys
            for word in str(b).split():
                if word.isdigit() and int(word) in old_ids:
                    assert str(keyed(key, int(word))) in str(a)
    return changed


def test_keyed_ids_need_the_key():
    ids, other = AuthorIds(KEY), AuthorIds(OTHER)
    assert ids("x", "@someone") == AuthorIds(KEY)("x", "@someone")
    assert ids("x", "@someone") != stable_id("x", "@someone")
    assert ids("x", "@someone") != other("x", "@someone")
    assert 0 < ids("x", "@someone") < 1 << 63
    assert "KEY" not in repr(ids) and KEY.decode() not in repr(ids)


def test_a_0010_store_upgrades_and_keeps_every_relationship(url, tweets, tmp_path):
    fill_at_0010(url, tweets)
    before = read_all(url)
    assert before["version"] == "0010"
    old_ids = set(before["authors"])
    assert all(i == stable_id(p, n) for i, (p, n, _) in before["authors"].items())
    assert len(old_ids) > 1000 and len(before["interactions"]) > 1000

    store = Store.open(url, id_key=KEY)  # migrates, then overwrites the freed pages
    sample = sorted(old_ids)[::len(old_ids) // 40]
    needles = [n for i in sample for n in (str(i).encode(), struct.pack(">q", i),
                                            struct.pack("<q", i))]
    left = [(where, n) for where, data in _database_bytes(store, url) for n in needles
            if n in data]
    store.close()
    assert left == [], "no unkeyed id is left in the database files"
    after = read_all(url)
    assert "compact_pending" not in after["meta"]
    assert after["version"] == HEAD
    ids = AuthorIds(KEY)
    # Every author row: the id a fresh import under this key gives, none unkeyed any more.
    assert {i: v for i, v in after["authors"].items()} == {
        ids(p, n): (p, n, h) for p, n, h in before["authors"].values()}
    for column in AUTHOR_ID_COLUMNS:
        assert after[column] == sorted(keyed(KEY, i) for i in before[column])
        assert not set(after[column]) & old_ids
    # Relationships: the author of a post, of an interaction, of a score is the same person.
    assert after["posts"] == {p: keyed(KEY, a) for p, a in before["posts"].items()}
    assert after["interactions"] == {i: (keyed(KEY, s), keyed(KEY, t))
                                     for i, (s, t) in before["interactions"].items()}
    assert after["scores"] == {(r, keyed(KEY, a)): v for (r, a), v in before["scores"].items()}
    authors_of = {pid: after["authors"][a][1] for pid, a in after["posts"].items()}
    assert authors_of == {pid: before["authors"][a][1] for pid, a in before["posts"].items()}
    # JSON copies: only author ids changed, each to its keyed id.
    changed = {name: json_changes(before[name], after[name], old_ids, KEY)
               for name in ("alerts.evidence", "influence_runs.params", "detect_state",
                            "coordination")}
    assert changed["alerts.evidence"] >= 5 and changed["influence_runs.params"] >= 10
    assert changed["coordination"] == 3
    assert changed["detect_state"] >= 1000  # each mention's author
    every_number = {v for name in ("alerts.evidence", "influence_runs.params", "detect_state",
                                   "coordination")
                    for _, v in leaves(after[name]) if isinstance(v, int)}
    assert not every_number & old_ids

    # The same key gives the same ids as a fresh import of the same file.
    fresh = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}", id_key=KEY)
    import_file(fresh, tweets)
    with fresh.engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, author_id FROM posts")).all()) == after["posts"]
        assert {r[0]: (r[1], r[2]) for r in conn.execute(text(
            "SELECT id, source_author_id, target_author_id FROM interactions"))} \
            == after["interactions"]
        assert {r[0] for r in conn.execute(text("SELECT id FROM authors"))} == set(after["authors"])
    fresh.close()

    # Detection continues from the re-keyed state: a second run adds nothing, duplicates nothing.
    store = Store.open(url, id_key=KEY)
    report = detect(store, echo=lambda _: None)
    assert report.posts == 0
    assert read_all(url)["alerts.evidence"] == after["alerts.evidence"]
    store.close()


def test_another_key_gives_other_ids_and_the_store_refuses_it(url, tweets):
    fill_at_0010(url, tweets, rows=200)
    before = read_all(url)
    Store.open(url, id_key=OTHER).close()
    after = read_all(url)
    mine = {keyed(KEY, i) for i in before["authors"]}
    theirs = set(after["authors"])
    assert theirs == {keyed(OTHER, i) for i in before["authors"]} and not theirs & mine
    with pytest.raises(ConfigError, match="another author-id key"):
        Store.open(url, id_key=KEY)
    store = Store.open(url, id_key=OTHER)  # the right key still opens it
    store.close()


def _database_bytes(store: Store, url: str) -> list[tuple[str, bytes]]:
    if store.dialect == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return [(str(p), p.read_bytes()) for p in path.parent.glob(path.name + "*")
                if p.is_file()]
    found = []
    with store.engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
        rows = conn.execute(text(
            "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't') "
            "AND pg_relation_filepath(c.oid) IS NOT NULL")).all()
        for name, path in rows:
            data = conn.execute(text("SELECT pg_read_binary_file(:p)"), {"p": path}).scalar()
            if data:
                found.append((name, bytes(data)))
    return found


def test_erasure_by_handle_after_the_upgrade_leaves_no_byte(url, tweets, tmp_path):
    fill_at_0010(url, tweets, rows=600)
    store = Store.open(url, id_key=KEY)
    with store.engine.connect() as conn:
        handle, author, native = conn.execute(text(
            "SELECT a.handle, a.id, a.native_id FROM authors a JOIN posts p ON p.author_id = a.id "
            "GROUP BY a.id, a.handle, a.native_id ORDER BY COUNT(*) DESC, a.handle LIMIT 1")).one()
        texts = [r[0] for r in conn.execute(text("SELECT text FROM posts WHERE author_id = :a"),
                                            {"a": author})]
        others = {tuple(r) for r in conn.execute(text(
            "SELECT id, native_id, handle FROM authors WHERE id <> :a"), {"a": author})}
    assert author == store.author_id("x", native) != stable_id("x", native)
    bystander = next(iter(others))[0]
    store.set_meta({"coordination": json.dumps({"clusters": [[author, bystander]]})})
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "edges-before-0014.csv").write_text(f"source,target\n{stable_id('x', native)},1\n")
    report = erase_author(store, "x", f"@{handle}", store.erasure_key(), exports=exports)
    assert report.removed["authors"] == 1 and report.removed["posts"] == len(texts) >= 2
    assert report.files, "an old export holding their unkeyed id is deleted"
    with store.engine.connect() as conn:
        assert {tuple(r) for r in conn.execute(text(
            "SELECT id, native_id, handle FROM authors"))} == others
    assert json.loads(store.get_meta("coordination")) == {"clusters": [[bystander]]}
    needles = [handle.encode(), str(author).encode(), struct.pack(">q", author),
               struct.pack("<q", author), str(stable_id("x", native)).encode()]
    needles += [t.encode() for t in texts if len(t) >= 40]
    left = [(where, n[:30]) for where, data in _database_bytes(store, url) for n in needles
            if n in data or n.lower() in data.lower()]
    store.close()
    assert left == []


_CRASHING_OPEN = textwrap.dedent("""
    import logging, os, signal, sys
    from listener.store import Store, rekey

    class Crash(logging.Handler):
        def emit(self, record):
            if sys.argv[2] in record.getMessage():
                os.kill(os.getpid(), signal.SIGKILL)

    rekey.BATCH = 100
    log = logging.getLogger("undertow.rekey")
    log.setLevel(logging.INFO)
    log.addHandler(Crash())
    Store.open(sys.argv[1], id_key=sys.argv[3].encode())
    print("finished")
""")


@pytest.mark.parametrize("moment", ["mapped 300", "posts.author_id", "interactions.target",
                                    "alerts.evidence"])
def test_a_migration_killed_midway_leaves_the_old_ids_and_runs_again(url, tweets, moment):
    fill_at_0010(url, tweets, rows=800)
    before = read_all(url)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, "-c", _CRASHING_OPEN, url, moment, KEY.decode()],
                            env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert read_all(url) == before, "a killed migration changed nothing"
    Store.open(url, id_key=KEY).close()
    after = read_all(url)
    assert after["version"] == HEAD
    assert after["posts"] == {p: keyed(KEY, a) for p, a in before["posts"].items()}
    assert set(after["authors"]) == {keyed(KEY, i) for i in before["authors"]}


def test_the_erasure_salt_leaves_meta_unless_records_need_it(tmp_path, tweets):
    for recorded in (False, True):
        url = f"sqlite:///{tmp_path / f'salt{recorded}.db'}"
        fill_at_0010(url, tweets, rows=50)
        engine = db.create(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO meta (key, value) VALUES ('erasure_salt', 'abc123')"))
            if recorded:
                conn.execute(text("INSERT INTO erasures (subject_hash, kind, erased_at) "
                                  "VALUES ('h', 'author', '2026-01-01 00:00:00')"))
        engine.dispose()
        store = Store.open(url, id_key=KEY)
        assert (store.get_meta("erasure_salt") is not None) is recorded
        assert (store.erasure_key() == b"abc123") is recorded
        assert KEY not in store.erasure_key()
        store.close()
