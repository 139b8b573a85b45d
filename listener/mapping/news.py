"""RSS and Atom feeds, as feedparser parses them -> Batch of platform "news" posts.

The outlet is the author: its native id is the site's host (the item's own link, else the feed's
`<link>`, else the feed's own address, without "www."), so several feeds of one newspaper are one
author, and an aggregated feed's items go to the outlets that published them. An entry's native
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
        host = urlparse(url).netloc.lower() if isinstance(url, str) else ""
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
    feed = parsed.get("feed") if isinstance(parsed.get("feed"), Mapping) else {}
    host = outlet(feed, feed_url)
    language = feed.get("language")
    lang = language.split("-")[0].lower() or None if isinstance(language, str) else None
    seen: set[str] = set()
    outlets: dict[str, None] = {}
    entries = parsed.get("entries") if isinstance(parsed.get("entries"), list) else []
    for entry in entries:
        if not isinstance(entry, Mapping):
            report.skipped.append(f"entry is not an object: {str(entry)[:60]}")
            continue
        with report.item(f"entry {str(entry.get('id') or entry.get('link') or '?')[:80]}"):
            post = _map_entry(entry, host, lang, feed_url, stamp, keep, seen, report)
            if post is not None:
                batch.posts.append(post)
                outlets[post.author_native_id] = None
    for name in outlets:
        title = html_to_text(feed.get("title")) if name == host else ""
        batch.authors.append(Author(PLATFORM, name, handle=name, display_name=title or None))
    return batch, report


def _entry_outlet(entry: Mapping[str, Any], host: str) -> str:
    """The item's own site: an aggregated feed's items come from many outlets, not its channel."""
    link = entry.get("link") if isinstance(entry.get("link"), str) else ""
    own = urlparse(link).netloc.lower().removeprefix("www.") if link.startswith("http") else ""
    return own or host


def _map_entry(entry, host, lang, feed_url, stamp, keep, seen, report) -> Post | None:
    native = entry.get("id") or entry.get("link")
    label = native or (entry.get("title") or "?")[:60]
    if not native:
        report.skipped.append(f"entry {label!r}: no guid, id or link")
        return None
    source = _entry_outlet(entry, host)
    if ":" not in native:
        native = f"{source}/{native}"
    text, changed = clean_text(entry_text(entry))
    if native in seen or (keep is not None and not keep(text)):
        return None
    created = _published(entry)
    if created is None:
        report.skipped.append(f"entry {label}: no date")
        return None
    seen.add(native)
    report.repaired_text += changed
    return Post(
        platform=PLATFORM,
        native_id=native,
        author_native_id=source,
        text=text,
        created_at=created,
        lang=lang,
        url=entry.get("link"),
        raw={"feed": feed_url, **{k: v for k, v in entry.items() if isinstance(v, str)}},
        collected_at=stamp,
    )
