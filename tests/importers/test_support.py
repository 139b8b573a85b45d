"""The customer-care conversations (IBM's Twitter dataset): reply chains with known counts."""

import json

from sqlalchemy import func, select

from listener.importers import detect, import_file
from listener.importers.support import snowflake_time
from listener.mapping.text import parse_time
from listener.store import schema


def _conversations(shared_data):
    return [c for name in ("dev.json", "test.json")
            for c in json.loads((shared_data / "support" / name).read_text())]


def test_snowflake_time_matches_every_dated_turn(shared_data):
    # The agent's closing reply has no time in the files; the id's own clock must agree with
    # the 1,325 turns that do carry one (they are whole seconds, the id has milliseconds).
    turns = [t for c in _conversations(shared_data) for t in c["dialogContent"]]
    assert len(turns) == 1325
    gaps = [abs((snowflake_time(t["tweet_ID"]) - parse_time(t["datetime"])).total_seconds())
            for t in turns]
    assert max(gaps) < 1.0


def test_support_conversations_import_as_reply_chains(store, shared_data):
    paths = [shared_data / "support" / name for name in ("dev.json", "test.json")]
    assert detect(paths[0]).name == "support"
    reports = [import_file(store, p) for p in paths]
    assert [r.records for r in reports] == [525, 500]
    assert all(r.bad_line_count == 0 for r in reports)
    # 1,325 turns + 1,025 closing agent replies; 7 tweets open two conversations each (the
    # dataset branches there), and each is stored once.
    status = store.status()
    assert status["posts"] == 2343
    p, i = schema.posts, schema.interactions
    with store.engine.connect() as conn:
        roots = conn.execute(select(func.count()).where(p.c.parent_native_id.is_(None))).scalar()
        kinds = dict(conn.execute(select(i.c.kind, func.count()).group_by(i.c.kind)).all())
        # dev.json's second conversation, by hand: two customer turns, then TeamYouTube's URL.
        chain = conn.execute(select(p.c.native_id, p.c.parent_native_id, p.c.created_at, p.c.url)
                             .where(p.c.conversation_id == "1245370705795076096")
                             .order_by(p.c.created_at)).all()
    assert roots == 1025 - 3  # three pairs of conversations share their first tweet
    assert kinds["reply"] == 1283  # every turn replies to the previous one (not to itself)
    assert [r.native_id for r in chain] == ["1245370705795076096", "1245373536128184320",
                                            "1245384255720521730"]
    assert [r.parent_native_id for r in chain] == [None, "1245370705795076096",
                                                   "1245373536128184320"]
    assert str(chain[2].created_at).startswith("2020-04-01 16:15:19.341")
    assert chain[2].url == "https://x.com/TeamYouTube/status/1245384255720521730"
    again = [import_file(store, path) for path in paths]
    assert sum(r.imported for r in again) == 0 and store.status()["posts"] == 2343


def test_broken_conversations_are_reported_and_the_rest_kept(store, tmp_path, shared_data):
    items = _conversations(shared_data)[:3]
    del items[1]["dialogContent"][0]["tweet_ID"]
    text = json.dumps(items, indent=4)
    path = tmp_path / "cut.json"
    # A file cut off in the middle of its fourth conversation.
    path.write_text(text[:-1] + ",\n" + json.dumps(items[0], indent=4)[:200])
    report = import_file(store, path)
    assert report.format == "support"
    lines = dict(report.bad_lines)
    second = text.splitlines().index("    {", 2) + 1  # where the broken conversation starts
    assert "tweet_ID" in lines[second] and "LgwAXtbbEm0mBvDrGmjk" not in lines[second]
    assert any("rest of the file is unread" in reason for reason in lines.values())
    assert report.bad_line_count == 2
    kept = len(items[0]["dialogContent"]) + 1 + len(items[2]["dialogContent"]) + 1
    assert report.imported == kept == store.status()["posts"]
