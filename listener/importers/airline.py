"""The Twitter US Airline Sentiment CSV (CrowdFlower / Kaggle `Tweets.csv`).

Its human label and negative reason are kept as gold annotations, apart from model scores. The
file names authors only by handle, so authors are keyed "@handle" (lower case): consistent within
the file and with the @mentions in its texts, and never confused with X's numeric user ids.
"""

from __future__ import annotations

import csv
import re

from listener.importers.base import ImportFormat
from listener.mapping.report import MapReport
from listener.mapping.text import as_int, clean_text, parse_time
from listener.mapping.x import tweet_url
from listener.post import Author, Batch, Interaction, Post

PLATFORM = "x"
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
REQUIRED = ("tweet_id", "airline_sentiment", "text", "tweet_created")


def handle_id(handle: str) -> str:
    return "@" + handle.lower()


def mentions(post: Post) -> list[Interaction]:
    seen: set[str] = set()
    out = []
    for m in _MENTION.finditer(post.text):
        target = handle_id(m.group(1))
        if target != post.author_native_id and target not in seen:
            seen.add(target)
            out.append(Interaction(post.platform, "mention", post.author_native_id, target,
                                   post.created_at, post.native_id, None))
    return out


def sniff(name: str, head: list[str]) -> bool:
    return bool(head) and all(col in head[0] for col in ("tweet_id", "airline_sentiment"))


def read(lines, report: MapReport):
    reader = csv.DictReader(line for _, line in lines)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        yield 1, f"header lacks {', '.join(missing)}"
        return
    for row in reader:
        number = reader.line_num
        if None in row or any(row.get(c) in (None, "") for c in REQUIRED):
            yield number, "row has missing or extra fields"
            continue
        try:
            created = parse_time(row["tweet_created"])
        except ValueError as exc:
            yield number, str(exc)
            continue
        text, changed = clean_text(row["text"])
        report.repaired_text += changed
        handle = row.get("name") or "unknown"
        author = Author(PLATFORM, handle_id(handle), handle=handle)
        post = Post(
            platform=PLATFORM,
            native_id=row["tweet_id"],
            author_native_id=author.native_id,
            text=text,
            created_at=created,
            lang="en",
            url=tweet_url(row["tweet_id"], handle),
            reposts=as_int(row.get("retweet_count")),
            gold_label=row["airline_sentiment"],
            gold_reason=row.get("negativereason") or None,
            raw=row,
        )
        batch = Batch([post], [author], mentions(post))
        batch.authors.extend(Author(PLATFORM, i.target_author_native_id,
                                    handle=i.target_author_native_id[1:])
                             for i in batch.interactions)
        yield number, batch


FORMAT = ImportFormat(name="airline", description="Twitter US Airline Sentiment CSV (Tweets.csv)",
                   sniff=sniff, read=read)
