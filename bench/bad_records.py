"""Nothing lost, nothing crashes: 10,000 records with bad ones mixed in, imported end to end.

    python bench/bad_records.py [--records 10000] [--bad-every 50] [--pg URL] [--json]

The file is plain JSONL (the `jsonl` format), the kinds of damage real archives carry placed at
random lines: wrong types (an object as author, a list as label), absurd numbers (1e30 and
Infinity likes), JSON nested 100,000 deep, NUL in a handle, over-long ids, handles, language
tags and platforms, missing text, unreadable times, broken JSON, a non-object line. Each record
knows its fate in advance: stored whole, stored without the field the store cannot hold (lang,
a count), or skipped. The run checks that every record to store is stored (`undertow status`
counts equal the file's own count of distinct good ids), every skipped one is listed with a
reason, and nothing raised; it prints the figures and exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from listener.importers import import_file  # noqa: E402
from listener.store import Store  # noqa: E402


@dataclass
class Expected:
    records: int = 0
    stored_ids: set[str] = field(default_factory=set)
    skipped_lines: set[int] = field(default_factory=set)
    damage: dict[str, int] = field(default_factory=dict)


# name -> (what to do to a good record, or the raw line; is the record stored?)
def _damage(kind: str, record: dict) -> tuple[str, bool]:
    r = dict(record)
    if kind == "author-object":
        r["author"] = {"name": "x"}
    elif kind == "label-list":
        r["label"] = ["negative"]
    elif kind == "lang-list":
        r["lang"] = ["en", "fr"]
        return json.dumps(r), True
    elif kind == "likes-1e30":
        r["likes"] = 1e30
        return json.dumps(r), True
    elif kind == "likes-infinity":
        return json.dumps(r)[:-1] + ', "reposts": Infinity}', True
    elif kind == "deep-nesting":
        return '{"text": "x", "created_at": "2024-01-01", "raw": ' + "[" * 100_000 + "]" * 100_000 \
            + "}", False
    elif kind == "nul-in-handle":
        r["author"] = "bad\x00handle"
        return json.dumps(r), True
    elif kind == "long-id":
        r["id"] = f"https://example.com/{r['id']}/" + "g" * 600
    elif kind == "long-handle":
        r["author"] = "h" * 300  # the author id "@hhh..." is still storable; the handle is not
        return json.dumps(r), True
    elif kind == "long-lang":
        r["lang"] = "x" * 80
        return json.dumps(r), True
    elif kind == "long-platform":
        r["platform"] = "p" * 40
    elif kind == "missing-text":
        r.pop("text")
    elif kind == "bad-time":
        r["created_at"] = "the day before yesterday"
    elif kind == "broken-json":
        return json.dumps(r)[:-7], False
    elif kind == "not-an-object":
        return json.dumps([r]), False
    return json.dumps(r), False


KINDS = ("author-object", "label-list", "lang-list", "likes-1e30", "likes-infinity", "deep-nesting",
         "nul-in-handle", "long-id", "long-handle", "long-lang", "long-platform", "missing-text",
         "bad-time", "broken-json", "not-an-object")


def generate(path: Path, records: int = 10_000, bad_every: int = 50, seed: int = 17) -> Expected:
    """Write the file; return what a correct import must do with it."""
    rng = random.Random(seed)
    expected = Expected(records=records)
    with open(path, "w", encoding="utf-8") as fh:
        for number in range(1, records + 1):
            record = {"id": f"p{number}", "platform": "bench", "author": f"user{rng.randrange(900)}",
                      "text": f"Post {number}: the flight was {rng.choice(['late', 'fine', 'great'])}",
                      "created_at": f"2024-03-{1 + number % 28:02d}T{number % 24:02d}:00:00Z",
                      "likes": rng.randrange(100), "lang": "en"}
            if number % bad_every == 0:
                kind = KINDS[(number // bad_every) % len(KINDS)]
                line, keeps = _damage(kind, record)
                expected.damage[kind] = expected.damage.get(kind, 0) + 1
            else:
                line, keeps = json.dumps(record), True
            fh.write(line + "\n")
            if keeps:
                expected.stored_ids.add(record["id"])
            else:
                expected.skipped_lines.add(number)
    return expected


def check(store: Store, path: Path, expected: Expected) -> dict:
    started = time.perf_counter()
    report = import_file(store, path, "jsonl")
    seconds = time.perf_counter() - started
    status = store.status()
    listed_lines = {line for line, _ in report.bad_lines}
    listed_ids = {d.split(": ", 1)[0].split(" ", 1)[-1] for d in report.skipped_details}
    skipped_ids = {f"p{n}" for n in expected.skipped_lines}
    # A skipped record is listed either by its line (the reader refused it) or by its id (the
    # store's gate refused it); every one must be in one of the two lists, with a reason.
    unlisted = sorted(n for n in expected.skipped_lines if n not in listed_lines
                      and f"p{n}" not in listed_ids and not any(i.startswith("https://example.com/"
                                                                f"p{n}/") for i in listed_ids))
    with store.engine.connect() as conn:
        ids = {r[0] for r in conn.execute(text("SELECT native_id FROM posts"))}
    return {
        "records": expected.records, "good": len(expected.stored_ids),
        "bad": len(expected.skipped_lines), "seconds": round(seconds, 2),
        "stored": len(ids), "status_posts": status["posts"],
        "missing_good": len(expected.stored_ids - ids), "stored_bad": len(ids & skipped_ids),
        "skipped_listed": report.skipped_count, "unlisted_skips": len(unlisted),
        "reasons_given": all(reason for _, reason in report.bad_lines)
        and all(":" in d for d in report.skipped_details),
        "ok": ids == expected.stored_ids == {f"p{n}" for n in range(1, expected.records + 1)}
        - skipped_ids and status["posts"] == len(expected.stored_ids) and not unlisted
        and report.skipped_count == len(expected.skipped_lines),
    }


def _pg_store(url: str):
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"undertow_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, Store.open(url.rsplit("/", 1)[0] + f"/{name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--bad-every", type=int, default=50)
    ap.add_argument("--pg", default=None, help="PostgreSQL server URL (a fresh database is made)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mixed.jsonl"
        expected = generate(path, args.records, args.bad_every)
        store = Store.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        results["sqlite"] = check(store, path, expected)
        store.close()
        if args.pg:
            url = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
            admin, name, store = _pg_store(url)
            try:
                results["postgresql"] = check(store, path, expected)
            finally:
                store.close()
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for db, r in results.items():
            print(f"{db}: {r['records']:,} records ({r['good']:,} to store, {r['bad']:,} to skip): "
                  f"stored {r['stored']:,} (status {r['status_posts']:,}), good missing "
                  f"{r['missing_good']:,}, bad stored {r['stored_bad']:,}, skipped and listed "
                  f"{r['skipped_listed']:,}, unlisted {r['unlisted_skips']:,}, in {r['seconds']:,} s: "
                  f"{'OK' if r['ok'] else 'FAILED'}")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
