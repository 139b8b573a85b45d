"""praw objects (Submission, Comment) -> the API dicts that listener.mapping.reddit maps.

praw keeps a thing's JSON fields as instance attributes and swaps a few for objects (author ->
Redditor, subreddit -> Subreddit, replies -> CommentForest). Reading `vars()` - never attribute
access, which can make praw fetch - and turning those objects back into names gives the API's own
dict, so praw results, thread files and listings all go through the same mapper.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from listener.mapping.reddit import DELETED, PLATFORM, map_things
from listener.mapping.report import MapReport
from listener.mapping.text import parse_time
from listener.post import Batch, Interaction

__all__ = ["map_praw", "thing_data"]

_AS_NAME = ("author", "subreddit")


def thing_data(obj: Any) -> tuple[str, dict[str, Any]]:
    """(kind, data) of one praw Submission or Comment, as the API sent it."""
    data: dict[str, Any] = {}
    for key, value in vars(obj).items():
        if key.startswith("_") or key == "replies":
            continue
        data[key] = None if value is None else str(value) if key in _AS_NAME else value
    fullname = str(data.get("name") or "")
    if fullname[:3] in ("t1_", "t3_"):
        return fullname[:2], data
    return ("t1" if "body" in data else "t3"), data


def map_praw(objects: Iterable[Any],
             collected_at: datetime | None = None) -> tuple[Batch, MapReport]:
    """Map praw things; replies become Interactions.

    Within the set, a reply points at its parent's author. A top-level comment whose submission
    is not in the set (a subreddit's comment listing) still names the submission's author in
    `link_author`, so that reply is kept too.
    """
    report = MapReport()
    things: list[tuple[str, dict[str, Any]]] = []
    for obj in objects:
        kind, data = thing_data(obj)
        try:
            parse_time(data.get("created_utc"))
        except ValueError as exc:
            report.skipped.append(f"{kind} {data.get('id', '?')}: {exc}")
            continue
        things.append((kind, data))
    batch, report = map_things(things, collected_at, report)
    present = {p.native_id for p in batch.posts}
    for post in batch.posts:
        parent = post.parent_native_id or ""
        target = (post.raw or {}).get("link_author")
        if (parent.startswith("t3_") and parent not in present and target not in DELETED
                and post.author_native_id not in DELETED):
            batch.interactions.append(Interaction(
                PLATFORM, "reply", post.author_native_id, target, post.created_at,
                post.native_id, parent))
    return batch, report
