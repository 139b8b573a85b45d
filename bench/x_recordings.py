"""What the real twarc2 recordings look like once stored: profiles kept, retweet counts honest.

    python bench/x_recordings.py [--data ../shared/data]

Imports five of twarc-csv's real API v2 recordings into a fresh SQLite store and prints: how many
accounts whose profile (with a follower count) came in `includes.users` are stored without it
(a mention stub overwrote it), the reposts stored on retweets ("RT @...") against those on the
originals, and how many of the top 8 posts by engagement are plain retweet copies.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.importers import import_file  # noqa: E402
from listener.store import Store  # noqa: E402

FILES = ("brexit.jsonl", "kpop.jsonl", "2sets.jsonl", "entities_test.jsonl", "noflat.jsonl")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("UNDERTOW_SHARED_DATA", "../shared/data"))
    args = ap.parse_args()
    folder = Path(args.data) / "fixtures" / "twarc_csv_v2" / "test-data"
    store = Store.open("sqlite://")
    profiles: dict[str, int] = {}
    for name in FILES:
        import_file(store, folder / name)
        for line in open(folder / name, encoding="utf-8"):
            try:
                page = json.loads(line)
            except ValueError:
                continue
            for user in (page.get("includes") or {}).get("users") or []:
                followers = (user.get("public_metrics") or {}).get("followers_count")
                if followers is not None:
                    profiles[user["id"]] = followers
    with store.engine.connect() as conn:
        stored = dict(conn.exec_driver_sql(
            "SELECT native_id, followers FROM authors WHERE platform = 'x'").all())
        rts = conn.exec_driver_sql("SELECT count(*), coalesce(sum(reposts), 0) FROM posts "
                                   "WHERE text LIKE 'RT @%'").one()
        originals = conn.exec_driver_sql("SELECT count(*), coalesce(sum(reposts), 0) FROM posts "
                                         "WHERE text NOT LIKE 'RT @%'").one()
        top = conn.exec_driver_sql(
            "SELECT text FROM posts ORDER BY coalesce(likes, 0) + coalesce(reposts, 0) "
            "+ coalesce(quotes, 0) + coalesce(replies, 0) DESC LIMIT 8").scalars().all()
    lost = sum(1 for key in profiles if stored.get(key) is None)
    print(f"profiles with a follower count: {len(profiles):,}; stored without it: {lost:,}")
    print(f"retweets: {rts[0]:,} posts with {rts[1]:,} reposts stored; originals: "
          f"{originals[0]:,} posts with {originals[1]:,} reposts")
    print(f"plain retweet copies among the top 8 by engagement: "
          f"{sum(t.startswith('RT @') for t in top)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
