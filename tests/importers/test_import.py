"""Every real fixture format, imported with known counts, twice (the second run adds nothing)."""

import json

import pytest
from sqlalchemy import func, select

from listener.errors import ImportFormatError
from listener.importers import detect, import_file
from listener.store import schema


def gold_counts(store):
    p = schema.posts
    with store.engine.connect() as conn:
        return dict(conn.execute(select(p.c.gold_label, func.count()).group_by(p.c.gold_label)).all())


def test_airline_csv(store, shared_data):
    path = shared_data / "airline" / "Tweets.csv"
    store.add_brand("United", "@united", "airlines")
    report = import_file(store, path)
    # 14,640 rows, 155 of them repeat a tweet_id: the repeats update, they do not duplicate.
    assert report.format == "airline" and report.records == 14640
    assert (report.imported, report.bad_line_count) == (14485, 0)
    assert sum(gold_counts(store).values()) == 14485
    # Authors recur across write batches: the summary counts each once, as the store holds them.
    assert report.authors == store.status()["authors"] == 8270
    again = import_file(store, path)
    assert (again.imported, again.updated) == (0, 14485)
    assert store.status()["posts"] == 14485
    assert store.status()["per_brand"]["United"] > 3500


def test_twarc_search_pages(store, shared_data):
    path = shared_data / "fixtures" / "twarc_csv_v2" / "test-data" / "brexit.jsonl"
    report = import_file(store, path)
    # 100 tweets in data + 59 referenced tweets in includes, 4 of them also in data.
    assert (report.format, report.imported) == ("twarc", 155)
    with store.engine.connect() as conn:
        kinds = dict(conn.execute(select(schema.interactions.c.kind, func.count())
                                  .group_by(schema.interactions.c.kind)).all())
    assert kinds == {"repost": 67, "mention": 64, "reply": 17, "quote": 13}
    assert import_file(store, path).imported == 0


def test_stream_file_with_a_broken_line(store, shared_data):
    path = shared_data / "fixtures" / "twarc_csv_v2" / "test-data" / "streaming_output_with_error.jsonl"
    report = import_file(store, path)
    assert report.bad_line_count == 1 and report.bad_lines[0][0] == 8
    assert report.imported == 11


def test_withheld_and_missing_tweets_are_reported(store, shared_data):
    path = shared_data / "fixtures" / "twarc_csv_v2" / "test-data" / "withheld.jsonl"
    report = import_file(store, path)
    assert report.imported == 284
    assert sum(report.skipped_items.values()) == 5
    assert any("Not Found" in d for d in report.skipped_details)


def test_reddit_threads(store, shared_data):
    files = sorted((shared_data / "fixtures" / "reddit_threads").glob("*.json"))
    assert len(files) == 40
    posts = replies = 0
    for f in files:
        r = import_file(store, f)
        posts += r.imported
        replies += r.interactions
    # 40 submissions + 1,075 comments; 27 `more` stubs are reported, not invented.
    assert posts == 1115
    assert store.status()["interactions"] == replies == 877


def test_generic_csv_with_bad_rows_and_bad_bytes(store, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes(
        b"text,created_at,author,label\n"
        b"good one \xf0\x9f\x98\x80,2026-01-01T10:00:00Z,alice,positive\n"
        b"broken \xff\xfe bytes,2026-01-01T11:00:00Z,bob,negative\n"
        b"no time,,carol,neutral\n"
        b"bad time,yesterday-ish,dave,neutral\n"
        b"extra,2026-01-01T12:00:00Z,erin,neutral,surplus\n"
        b"@alice thanks,2026-01-02T09:00:00+02:00,frank,\n"
    )
    report = import_file(store, path)
    assert report.format == "csv"
    assert report.imported == 3 and report.encoding_replaced == 1
    assert [line for line, _ in report.bad_lines] == [4, 5, 6]
    assert import_file(store, path).imported == 0  # ids derived from content: stable
    assert store.status()["interactions"] == 1  # frank -> @alice
    assert gold_counts(store) == {"positive": 1, "negative": 1, None: 1}


def test_generic_jsonl(store, tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "1", "text": "<script>x</script>", "created_at": 1735689600}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"id": "2", "text": "fine", "created_at": "2026-01-01", "platform": "forum"}),
    ]))
    report = import_file(store, path)
    assert (report.imported, report.bad_line_count) == (2, 2)
    assert store.status()["per_platform"] == {"file": 1, "forum": 1}


def test_unknown_format_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(ImportFormatError, match="--format"):
        detect(path)


def test_activity_edge_list(store, tmp_path):
    path = tmp_path / "higgs-activity_time.txt"
    path.write_text("223789 213163 1341100972 MT\n223789 213163 1341100972 RE\n"
                    "376989 13813 1341100972 RT\n376989 13813 1341101181 RT\n"
                    "not an edge\n26 23 1341101181 RT\n")
    report = import_file(store, path)
    assert report.format == "activity" and report.bad_lines == [(5, "not `userA userB unix_ts RT|MT|RE`")]
    status = store.status()
    # The same pair retweeting twice at different times is two interactions.
    assert status["interactions"] == 5 and status["authors"] == 6 and status["posts"] == 0
    assert import_file(store, path).interactions == 5 and store.status()["interactions"] == 5
