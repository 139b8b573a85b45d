"""How often the platform's language tag and the detector (py3langid, `nlp.language`) disagree.

    python bench/languages.py [--json]

Read from ../shared/data (UNDERTOW_SHARED_DATA):
- the recorded X API v2 pages (fixtures/twarc_csv_v2/test-data/*.jsonl), each tweet once by id,
  mapped with the collector's own mapping (`listener.mapping.x.map_page`);
- threads/twitter_threads.csv (RumourEval/PHEME tweets with X's `lang` column).
The airline and SemEval tweets carry no language tag: only the detector's breakdown is given.

For each tweet whose tag names a language (not "und", "zxx", "qme", ...): the detector's answer
on the text alone. "agree": the same code; "detector und": too short or below the confidence
floor (the recorded language is then the tag, the detector is not asked); "disagree": another
language. Tags that name none fall back to the detector: their breakdown is listed too.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.language import UNKNOWN, detect, platform_language  # noqa: E402

DATA = Path(os.environ.get("UNDERTOW_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))


def x_fixture_tweets() -> list[tuple[str | None, str]]:
    from listener.mapping.x import map_page

    seen: dict[str, tuple[str | None, str]] = {}
    for path in sorted((DATA / "fixtures" / "twarc_csv_v2" / "test-data").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                page = json.loads(line)
            except ValueError:
                continue
            if not isinstance(page, dict):
                continue
            for post in map_page(page)[0].posts:
                seen.setdefault(post.native_id, (post.lang, post.text))
    return list(seen.values())


def thread_tweets() -> list[tuple[str | None, str]]:
    with open(DATA / "threads" / "twitter_threads.csv", newline="") as f:
        return [(row["lang"] or None, row["text"]) for row in csv.DictReader(f)]


def untagged(path: Path, column: str, limit: int | None = None) -> list[tuple[None, str]]:
    with open(path, newline="") as f:
        rows = [(None, row[column]) for row in csv.DictReader(f)]
    return rows[:limit] if limit else rows


def compare(tweets: list[tuple[str | None, str]]) -> dict:
    tagged = agree = unknown = 0
    pairs: Counter = Counter()
    fallback: Counter = Counter()
    tags: Counter = Counter()
    for tag, text in tweets:
        tags[tag or "(none)"] += 1
        code = platform_language(tag)
        guess = detect(text)
        if code is None:
            fallback[guess] += 1
            continue
        tagged += 1
        if guess == code:
            agree += 1
        elif guess == UNKNOWN:
            unknown += 1
        else:
            pairs[f"{code}->{guess}"] += 1
    disagree = tagged - agree - unknown
    return {"tweets": len(tweets), "tags": dict(tags.most_common()), "tagged": tagged,
            "agree": agree, "detector_und": unknown, "disagree": disagree,
            "disagree_share": round(disagree / tagged, 4) if tagged else None,
            "disagree_pairs": dict(pairs.most_common(10)),
            "fallback_detected": dict(fallback.most_common())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {"x_fixtures": compare(x_fixture_tweets()),
           "threads": compare(thread_tweets()),
           "airline_no_tag": compare(untagged(DATA / "airline" / "Tweets.csv", "text")),
           "semeval_no_tag": compare(untagged(DATA / "sentiment" / "semeval_2013_2016.csv",
                                              "text", 5000))}
    if args.json:
        print(json.dumps(out))
        return
    for name, r in out.items():
        print(f"{name}: {r['tweets']:,} tweets, {r['tagged']:,} with a language tag; agree "
              f"{r['agree']:,}, detector und {r['detector_und']:,}, disagree {r['disagree']:,} "
              f"({r['disagree_share']}); pairs {r['disagree_pairs']}; no tag -> detector "
              f"{r['fallback_detected']}")


if __name__ == "__main__":
    main()
