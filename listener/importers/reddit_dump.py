"""Reddit dumps as researchers hold them: Pushshift / Arctic Shift NDJSON, usually `.zst`.

One submission or comment per line, the same object Reddit's API puts under `data` (`RS_*` files
hold submissions, `RC_*` comments; a line tells which by `title` or `body`). Dumps run in time
order, so a comment's parent has nearly always been read already: the last million authors are
remembered to turn replies into reply interactions across lines.
"""

from __future__ import annotations

from collections import OrderedDict

from listener.importers.base import ImportFormat, first_json, json_lines
from listener.mapping import reddit
from listener.mapping.report import MapReport
from listener.post import Batch, Interaction

_REMEMBER = 1_000_000


def kind_of(obj) -> str | None:
    if not isinstance(obj, dict) or "subreddit" not in obj and "created_utc" not in obj:
        return None
    if "body" in obj or str(obj.get("name", "")).startswith("t1_"):
        return "t1"
    if "title" in obj or str(obj.get("name", "")).startswith("t3_"):
        return "t3"
    return None


def sniff(name: str, head: list[str]) -> bool:
    obj = first_json(head)
    return kind_of(obj) is not None and "created_utc" in obj


def read(lines, report: MapReport):
    authors: OrderedDict[str, str] = OrderedDict()  # fullname -> author, newest last

    def map_line(obj, report: MapReport) -> Batch | str:
        kind = kind_of(obj)
        if kind is None:
            return "neither a Reddit submission nor a comment"
        batch, _ = reddit.map_things([(kind, obj)], report=report)
        if not batch.posts:
            return report.skipped.pop() if report.skipped else "not mappable"
        post = batch.posts[0]
        parent_author = authors.get(post.parent_native_id or "")
        if parent_author and reddit.DELETED.isdisjoint({post.author_native_id, parent_author}):
            batch.interactions.append(Interaction(
                reddit.PLATFORM, "reply", post.author_native_id, parent_author, post.created_at,
                post.native_id, post.parent_native_id))
        authors[post.native_id] = post.author_native_id
        if len(authors) > _REMEMBER:
            authors.popitem(last=False)
        return batch

    yield from json_lines(lines, map_line, report)


FORMAT = ImportFormat(
    name="reddit-dump",
    description="Reddit dump NDJSON (Pushshift / Arctic Shift submissions or comments, .zst or .gz)",
    sniff=sniff, read=read)
