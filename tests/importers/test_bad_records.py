"""The goal, as a test: 10,000 records with bad ones mixed in, nothing lost, nothing raised,
every skipped record listed with a reason, `undertow status` equal to the file's own count."""

from __future__ import annotations

import gzip

from bench.bad_records import check, generate
from listener.importers import import_file


def test_ten_thousand_records_with_bad_ones(store, tmp_path):
    path = tmp_path / "mixed.jsonl"
    expected = generate(path, 10_000, 50)
    assert len(expected.skipped_lines) > 100 and len(expected.damage) == 15
    result = check(store, path, expected)
    assert result["missing_good"] == 0 and result["stored_bad"] == 0
    assert result["status_posts"] == len(expected.stored_ids)
    assert result["unlisted_skips"] == 0 and result["reasons_given"]
    assert result["ok"], result


def test_a_truncated_gzip_keeps_what_came_before(store, tmp_path):
    source = tmp_path / "mixed.jsonl"
    generate(source, 2_000, 10_000)
    packed = gzip.compress(source.read_bytes())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    report = import_file(store, path, "jsonl")
    assert 0 < store.status()["posts"] < 2_000
    assert report.bad_lines[-1][1].startswith("the file is corrupt or truncated here")


def test_legacy_bytes_are_decoded_not_lost(store, tmp_path):
    path = tmp_path / "legacy.jsonl"
    path.write_bytes(b'{"id": "1", "text": "caf\xe9 \xe2\x80\x9cok\xe2\x80\x9d \x93q\x94", '
                     b'"created_at": "2024-01-01"}\n')
    report = import_file(store, path)
    assert report.encoding_replaced == 1
    with store.engine.connect() as conn:
        text = conn.exec_driver_sql("SELECT text FROM posts").scalar()
    assert text == "café “ok” “q”"  # cp1252 bytes decoded, the UTF-8 around them kept
