"""Plain CSV or JSONL posts: at least `text` and `created_at`; other known columns are optional.

Columns: id, platform (default "file"), author (handle) or author_id, lang, url, likes, reposts,
replies, quotes, views, label (a human sentiment label, kept as gold). A row without an id gets
one derived from its author, time and text, so re-importing the file stays idempotent.
"""

from __future__ import annotations

import csv
import hashlib
from typing import Any

from listener.importers.airline import mentions
from listener.importers.base import ImportFormat, first_json, guarded, json_lines
from listener.mapping.report import MapReport
from listener.mapping.text import as_int, clean_text, parse_time
from listener.post import SENTIMENT_LABELS, Author, Batch, Post

REQUIRED = ("text", "created_at")


def map_record(record: dict[str, Any], report: MapReport) -> Batch | str:
    missing = [c for c in REQUIRED if record.get(c) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        created = parse_time(record["created_at"])
    except (ValueError, OverflowError, OSError) as exc:
        return str(exc)
    text, changed = clean_text(str(record["text"]))
    report.repaired_text += changed
    for column in ("author", "author_id", "platform", "label", "id"):
        value = record.get(column)
        if value is not None and not isinstance(value, str | int) or isinstance(value, bool):
            return f"{column} must be text, not {type(value).__name__}"
    platform = str(record.get("platform") or "file")
    handle = str(record["author"]) if record.get("author") not in (None, "") else None
    author_id = str(record.get("author_id") or (f"@{handle.lower()}" if handle else "@unknown"))
    native_id = record.get("id")
    if native_id in (None, ""):
        key = f"{author_id}\x1f{created.isoformat()}\x1f{text}"
        native_id = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    label = str(record.get("label") or "").strip().lower() or None
    post = Post(
        platform=platform, native_id=str(native_id), author_native_id=author_id, text=text,
        created_at=created, lang=record.get("lang") or None, url=record.get("url") or None,
        likes=as_int(record.get("likes")), reposts=as_int(record.get("reposts")),
        replies=as_int(record.get("replies")), quotes=as_int(record.get("quotes")),
        views=as_int(record.get("views")),
        gold_label=label if label in SENTIMENT_LABELS else None, raw=record,
    )
    batch = Batch([post], [Author(platform, author_id, handle=handle)])
    if author_id.startswith("@"):  # handle-keyed authors: @mentions in the text are links
        batch.interactions.extend(mentions(post))
    return batch


def _sniff_csv(name: str, head: list[str]) -> bool:
    if not head or not name.endswith((".csv", ".tsv")):
        return False
    columns = next(csv.reader([head[0]]))
    return all(c in columns for c in REQUIRED)


def _read_csv(lines, report: MapReport):
    reader = csv.DictReader(line for _, line in lines)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        yield 1, f"header lacks {', '.join(missing)}"
        return
    for row in reader:
        if None in row:
            yield reader.line_num, "row has more fields than the header"
            continue
        yield reader.line_num, guarded(map_record, row, report)


def _sniff_jsonl(name: str, head: list[str]) -> bool:
    obj = first_json(head)
    return isinstance(obj, dict) and all(c in obj for c in REQUIRED)


def _map_object(obj: Any, report: MapReport) -> Batch | str:
    return map_record(obj, report) if isinstance(obj, dict) else "not a JSON object"


def _read_jsonl(lines, report: MapReport):
    yield from json_lines(lines, _map_object, report)


CSV_FORMAT = ImportFormat("csv", "Plain CSV with text and created_at columns", _sniff_csv, _read_csv)
JSONL_FORMAT = ImportFormat("jsonl", "Plain JSONL with text and created_at fields", _sniff_jsonl,
                            _read_jsonl)
