"""Conformance: real recordings from other projects (tests/fixtures/<source>/README.md says whose).

Counts are checked against the input's own counts (computed here from the raw JSON, not typed
in), and fields of stored rows against the raw objects they came from, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard
from sqlalchemy import select

from listener.importers import detect, import_file
from listener.mapping.text import parse_time
from listener.store import schema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def rows(path: Path) -> list[dict]:
    data = path.read_bytes()
    if path.suffix == ".zst":
        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def stored(store, platform: str) -> dict[str, object]:
    p, a = schema.posts, schema.authors
    with store.engine.connect() as conn:
        found = conn.execute(select(p.c.native_id, p.c.text, p.c.created_at, p.c.parent_native_id,
                                    p.c.reposts, p.c.likes, a.c.handle, a.c.followers)
                             .join(a, a.c.id == p.c.author_id).where(p.c.platform == platform))
        return {r.native_id: r for r in found}


def same_time(stored_at, raw) -> bool:
    stored_at = stored_at if stored_at.tzinfo else stored_at.replace(tzinfo=parse_time(raw).tzinfo)
    return stored_at == parse_time(raw)


def v1_statuses(status: dict) -> list[dict]:
    """A v1.1 status and the statuses it embeds: each one is a post."""
    inner = [status[k] for k in ("retweeted_status", "quoted_status") if isinstance(status.get(k), dict)]
    return [status, *(s for i in inner for s in v1_statuses(i))]


@pytest.mark.parametrize("name", ["get_user_timeline.jsonl", "get_home_timeline.jsonl",
                                  "single_statuses.jsonl"])
def test_x_v1_statuses(store, name):
    path = FIXTURES / "x_v1" / name
    raw = rows(path)
    every = {str(s["id_str"]): s for status in raw for s in v1_statuses(status)}
    assert detect(path).name == "twarc"
    report = import_file(store, path)
    assert report.bad_line_count == 0 and not report.skipped_items
    assert report.records == len(raw)
    posts = stored(store, "x")
    assert set(posts) == set(every)  # ids from id_str, never hashed
    for ident, status in every.items():
        row = posts[ident]
        text = (status.get("extended_tweet") or {}).get("full_text") or status.get("full_text") \
            or status["text"]
        assert row.text == text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        assert row.handle == status["user"]["screen_name"]
        assert same_time(row.created_at, status["created_at"])
        if "retweeted_status" in status:
            assert row.parent_native_id == status["retweeted_status"]["id_str"]
            assert row.reposts == 0 and row.likes == 0  # the original's counts stay on it
        elif status.get("in_reply_to_status_id_str"):
            assert row.parent_native_id == status["in_reply_to_status_id_str"]
    assert store.status()["posts"] == len(every)
    with store.engine.connect() as conn:
        kinds = [r[0] for r in conn.execute(select(schema.interactions.c.kind))]
    assert kinds.count("repost") == sum("retweeted_status" in s for s in every.values())


def test_x_v1_retweets_are_reposts_not_mentions(store):
    path = FIXTURES / "x_v1" / "get_home_timeline.jsonl"
    import_file(store, path)
    retweets = [s for s in rows(path) if "retweeted_status" in s]
    assert len(retweets) == 14
    with store.engine.connect() as conn:
        found = conn.execute(select(schema.interactions.c.kind)).scalars().all()
    assert found.count("repost") == 14


def test_twarc2_flattened(store):
    path = FIXTURES / "x_twarc2" / "flat_head20.jsonl"
    raw = rows(path)
    assert detect(path).name == "twarc"
    report = import_file(store, path)
    assert report.records == len(raw) and report.bad_line_count == 0
    posts = stored(store, "x")
    referenced = {r["id"] for t in raw for r in t.get("referenced_tweets") or [] if "text" in r}
    assert set(posts) == {t["id"] for t in raw} | referenced
    for tweet in raw:
        row = posts[tweet["id"]]
        assert row.handle == tweet["author"]["username"]  # not the author object in the handle
        assert row.followers == tweet["author"]["public_metrics"]["followers_count"]
        assert same_time(row.created_at, tweet["created_at"])
        refs = tweet.get("referenced_tweets") or []
        assert row.parent_native_id == (refs[0]["id"] if refs else None)


def test_twarc2_mentions_by_username_keep_their_link(store):
    path = FIXTURES / "x_twarc2" / "mentions_tweet.jsonl"
    page = rows(path)[0]
    import_file(store, path)
    users = {u["username"].lower(): u["id"] for u in page["includes"]["users"]}
    tweets = page["data"] if isinstance(page["data"], list) else [page["data"]]
    expected = {(t["author_id"], users[m["username"].lower()]) for t in tweets
                for m in (t.get("entities") or {}).get("mentions") or []
                if m["username"].lower() in users and users[m["username"].lower()] != t["author_id"]}
    a = schema.authors
    with store.engine.connect() as conn:
        native = dict(conn.execute(select(a.c.id, a.c.native_id)).all())
        links = {(native[s], native[t]) for s, t in conn.execute(
            select(schema.interactions.c.source_author_id, schema.interactions.c.target_author_id))}
    assert expected and expected <= links


@pytest.mark.parametrize("name", ["RS_askreddit_sample.ndjson.zst", "RC_askreddit_sample.ndjson.zst"])
def test_reddit_dump(store, name):
    path = FIXTURES / "reddit_dump" / name
    raw = rows(path)
    assert detect(path).name == "reddit-dump"
    report = import_file(store, path)
    assert report.records == len(raw) and report.bad_line_count == 0
    assert report.imported == len(raw) == store.status()["posts"]
    posts = stored(store, "reddit")
    for thing in raw:
        row = posts[thing["name"]]
        body = thing.get("body") if "body" in thing else thing["title"]
        assert row.text.startswith(body.replace("&amp;", "&").replace("&lt;", "<")
                                   .replace("&gt;", ">")[:40])
        assert same_time(row.created_at, thing["created_utc"])
        assert row.parent_native_id == thing.get("parent_id")
        if thing["author"] not in ("[deleted]", "[removed]"):
            assert row.handle == thing["author"]
