"""Reddit JSON (the `/comments/<id>.json` thread response, listings, praw's raw dicts) -> Batch.

Native ids are Reddit "fullnames" (t3_ submissions, t1_ comments) so a comment's `parent_id`
is directly the parent post's native id. Authors are keyed by username: old payloads lack
`author_fullname`, and usernames are unique and permanent. Deleted authors get no interactions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from listener.mapping.report import MapReport
from listener.mapping.text import as_int, clean_text, parse_time
from listener.post import Author, Batch, Interaction, Post, utcnow

PLATFORM = "reddit"
DELETED = {"[deleted]", "[removed]", None, ""}


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def map_thing(kind: str, data: dict[str, Any], collected_at: datetime, report: MapReport) -> Post | None:
    """One submission (t3) or comment (t1)."""
    if not isinstance(data, dict):
        raise ValueError("not an object")
    fullname = _text_or_none(data.get("name")) or (f"{kind}_{data['id']}" if data.get("id") else None)
    if not fullname or data.get("created_utc") is None:
        report.skipped.append(f"{kind} {data.get('id', '?')}: missing id or created_utc")
        return None
    if kind == "t3":
        body = data.get("title") or ""
        if data.get("selftext"):
            body = f"{body}\n\n{data['selftext']}"
    else:
        body = data.get("body") or ""
    text, changed = clean_text(body)
    report.repaired_text += changed
    permalink = data.get("permalink")
    return Post(
        platform=PLATFORM,
        native_id=fullname,
        author_native_id=_text_or_none(data.get("author")) or "[deleted]",
        text=text,
        created_at=parse_time(data["created_utc"]),
        lang=None,
        url=f"https://www.reddit.com{permalink}" if permalink else None,
        likes=as_int(data.get("score")),
        replies=as_int(data.get("num_comments")) if kind == "t3" else None,
        parent_native_id=_text_or_none(data.get("parent_id")),
        conversation_id=_text_or_none(data.get("link_id")) or (fullname if kind == "t3" else None),
        raw={k: v for k, v in data.items() if k != "replies"},
        collected_at=collected_at,
    )


def _walk(children: list[dict[str, Any]], out: list[tuple[str, dict[str, Any]]], report: MapReport) -> None:
    for child in children:
        kind = child.get("kind")
        data = child.get("data") or {}
        if kind == "more":
            if data.get("count") or data.get("children"):
                report.skipped.append(
                    f"more {data.get('id', '?')}: {len(data.get('children') or [])} comments not "
                    "in this response (a collector resolves them)"
                )
            continue
        if kind not in ("t1", "t3"):
            continue
        out.append((kind, data))
        replies = data.get("replies")
        if isinstance(replies, dict):
            _walk((replies.get("data") or {}).get("children") or [], out, report)


def map_things(things: list[tuple[str, dict[str, Any]]], collected_at: datetime | None = None,
               report: MapReport | None = None) -> tuple[Batch, MapReport]:
    """Map (kind, data) pairs; replies become Interactions when the parent is in the same set."""
    report = report or MapReport()
    stamp = collected_at or utcnow()
    batch = Batch()
    by_id: dict[str, Post] = {}
    for kind, data in things:
        with report.item(f"{kind} {str(data.get('id', '?'))[:40] if isinstance(data, dict) else '?'}"):
            post = map_thing(kind, data, stamp, report)
            if post is None:
                continue
            by_id[post.native_id] = post
            if post.author_native_id not in DELETED:
                batch.authors.append(Author(PLATFORM, post.author_native_id,
                                            handle=post.author_native_id))
    batch.posts.extend(by_id.values())
    for post in by_id.values():
        parent = by_id.get(post.parent_native_id or "")
        if parent is None or post.author_native_id in DELETED or parent.author_native_id in DELETED:
            continue
        batch.interactions.append(Interaction(
            PLATFORM, "reply", post.author_native_id, parent.author_native_id, post.created_at,
            post.native_id, parent.native_id))
    return batch, report


def map_thread(payload: Any, collected_at: datetime | None = None) -> tuple[Batch, MapReport]:
    """A `/comments/<id>.json` response (a list of listings) or a single listing."""
    report = MapReport()
    listings = payload if isinstance(payload, list) else [payload]
    things: list[tuple[str, dict[str, Any]]] = []
    for listing in listings:
        if not isinstance(listing, dict) or listing.get("kind") != "Listing":
            report.skipped.append("a part of the response is not a Reddit Listing")
            continue
        _walk((listing.get("data") or {}).get("children") or [], things, report)
    return map_things(things, collected_at, report)


def is_thread(payload: Any) -> bool:
    first = payload[0] if isinstance(payload, list) and payload else payload
    return isinstance(first, dict) and first.get("kind") == "Listing"
