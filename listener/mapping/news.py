"""RSS and Atom feeds, as feedparser parses them -> Batch of platform "news" posts.

The outlet is the author: its native id is the site's host (the feed's `<link>`, else the feed's
own address, without "www."), so several feeds of one newspaper are one author. An entry's native
id is its guid / Atom id, else its link; a bare guid ("12345") is scoped to the outlet. Entries
without a date are skipped: a feed that dates nothing cannot be placed on a timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from listener.mapping.mastodon import html_to_text
from listener.mapping.report import MapReport
from listener.mapping.text import clean_text
from listener.post import Author, Batch, Post, utcnow

__all__ = ["PLATFORM", "entry_text", "map_feed", "outlet"]

PLATFORM = "news"


def outlet(feed: Mapping[str, Any], feed_url: str) -> str:
    """The outlet's host: 'https://www.example.com/rss' -> 'example.com'."""
    for url in (feed.get("link"), feed_url):
        host = urlparse(url or "").netloc.lower()
        if host:
            return host.removeprefix("www.")
    return feed_url


def entry_text(entry: Mapping[str, Any]) -> str:
    """Headline and lead, as a reader sees them: what a brand query is matched against."""
    body = entry.get("summary") or ""
    if not body and entry.get("content"):
        body = entry["content"][0].get("value") or ""
    title = html_to_text(entry.get("title") or "")
    lead = html_to_text(body)
    return f"{title}\n\n{lead}".strip() if lead != title else title


def _published(entry: Mapping[str, Any]) -> datetime | None:
    # feedparser converts every date format it knows to a UTC struct_time.
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else None


def map_feed(parsed: Mapping[str, Any], feed_url: str, collected_at: datetime | None = None,
             keep: Callable[[str], bool] | None = None) -> tuple[Batch, MapReport]:
    """A feedparser result -> posts by the outlet; `keep(text)` picks the entries to store."""
    report, batch = MapReport(), Batch()
    stamp = collected_at or utcnow()
    feed = parsed.get("feed") or {}
    host = outlet(feed, feed_url)
    lang = (feed.get("language") or "").split("-")[0].lower() or None
    seen: set[str] = set()
    for entry in parsed.get("entries") or []:
        native = entry.get("id") or entry.get("link")
        label = native or (entry.get("title") or "?")[:60]
        if not native:
            report.skipped.append(f"entry {label!r}: no guid, id or link")
            continue
        if ":" not in native:
            native = f"{host}/{native}"
        text, changed = clean_text(entry_text(entry))
        if native in seen or (keep is not None and not keep(text)):
            continue
        created = _published(entry)
        if created is None:
            report.skipped.append(f"entry {label}: no date")
            continue
        seen.add(native)
        report.repaired_text += changed
        batch.posts.append(Post(
            platform=PLATFORM,
            native_id=native,
            author_native_id=host,
            text=text,
            created_at=created,
            lang=lang,
            url=entry.get("link"),
            raw={"feed": feed_url, **{k: v for k, v in entry.items() if isinstance(v, str)}},
            collected_at=stamp,
        ))
    if batch.posts:
        batch.authors.append(Author(PLATFORM, host, handle=host,
                                    display_name=html_to_text(feed.get("title")) or None))
    return batch, report
