"""Mastodon API statuses (as the server sends them, or as Mastodon.py returns them) -> Batch.

Status ids are local to the instance that served them, so a post's native id is its ActivityPub
`uri`, the same on every instance, and an author's is the instance-qualified handle
`user@instance` (the `acct` of a local account has no domain: the serving instance's is added).
Replies point at the parent's uri when the parent is at hand (in the same set, or fetched by the
collector), else only at its author, named among the mentions. A boost (`reblog`) maps to the
boosted post and a repost Interaction; `reblogged_by` lists (no time) are dated when collected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from listener.mapping.report import MapReport
from listener.mapping.text import as_int, clean_text, parse_time
from listener.post import Author, Batch, Interaction, Post, utcnow

__all__ = ["PLATFORM", "html_to_text", "map_account", "map_statuses", "plain", "qualify",
           "status_text"]

PLATFORM = "mastodon"
_RE_LINE = re.compile(r"^RE:\s+https?://\S+$")
_BLOCKS = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS and self.parts and not self.parts[-1].endswith("\n\n"):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """The text a reader sees in Mastodon's (or a feed's) HTML: tags dropped, entities decoded,
    paragraphs and line breaks kept. Link text is kept whole: Mastodon hides parts of long URLs
    in `invisible` spans that are still part of the address."""
    if not html:
        return ""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).replace("\xa0", " ").split("\n")
    return "\n".join(line.strip() for line in lines).strip()


def qualify(acct: str, host: str) -> str:
    """'alice' on mastodon.social -> 'alice@mastodon.social'; a remote 'bob@example.org' stays."""
    acct = acct.removeprefix("@")
    return acct if "@" in acct else f"{acct}@{host}"


def plain(value: Any) -> Any:
    """JSON-ready copy of what Mastodon.py returns (its datetimes back to ISO 8601 text)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return _when(value).isoformat().replace("+00:00", "Z")
    return value


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return parse_time(value)


def map_account(account: Mapping[str, Any], host: str) -> Author:
    acct = qualify(str(account["acct"]), host)
    try:
        created = _when(account.get("created_at"))
    except ValueError:
        created = None
    return Author(
        platform=PLATFORM,
        native_id=acct,
        handle=acct,
        display_name=account.get("display_name") or None,
        followers=as_int(account.get("followers_count")),
        following=as_int(account.get("following_count")),
        created_at=created,
    )


def _quoted(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    quote = status.get("quote")
    inner = quote.get("quoted_status") if isinstance(quote, Mapping) else None
    return inner if isinstance(inner, Mapping) else None


def status_text(status: Mapping[str, Any]) -> str:
    """The content as text, after its content warning when it has one.

    A quote post's content ends with "RE: <the quoted post's URL>" for clients that cannot show
    quotes; the quote is a link of its own (parent and quote interaction), so that line goes.
    """
    body = html_to_text(status.get("content"))
    if _quoted(status) is not None:
        body = "\n".join(line for line in body.split("\n")
                         if not _RE_LINE.match(line)).strip()
    warning = (status.get("spoiler_text") or "").strip()
    return f"{warning}\n\n{body}" if warning else body


def _post(status: Mapping[str, Any], host: str, parent: str | None, collected_at: datetime,
          report: MapReport) -> Post | None:
    uri, account = status.get("uri"), status.get("account") or {}
    missing = [k for k, v in (("uri", uri), ("account.acct", account.get("acct")),
                              ("created_at", status.get("created_at"))) if not v]
    if missing:
        report.skipped.append(f"status {status.get('id', '?')}: missing {', '.join(missing)}")
        return None
    try:
        created = _when(status["created_at"])
    except ValueError as exc:
        report.skipped.append(f"status {status.get('id', '?')}: {exc}")
        return None
    text, changed = clean_text(status_text(status))
    report.repaired_text += changed
    return Post(
        platform=PLATFORM,
        native_id=str(uri),
        author_native_id=qualify(str(account["acct"]), host),
        text=text,
        created_at=created,
        lang=status.get("language"),
        url=status.get("url") or str(uri),
        likes=as_int(status.get("favourites_count")),
        reposts=as_int(status.get("reblogs_count")),
        replies=as_int(status.get("replies_count")),
        quotes=as_int(status.get("quotes_count")),
        parent_native_id=parent,
        raw=plain(status),
        collected_at=collected_at,
    )


def map_statuses(statuses: Iterable[Mapping[str, Any]], host: str,
                 collected_at: datetime | None = None,
                 reblogged_by: Mapping[str, list[Mapping[str, Any]]] | None = None,
                 ) -> tuple[Batch, MapReport]:
    """Statuses served by `host` -> posts, authors and reply/mention/boost/quote Interactions.

    `reblogged_by` maps a status id to the accounts that boosted it (GET .../reblogged_by).
    """
    report, batch = MapReport(), Batch()
    stamp = collected_at or utcnow()
    items = [s for s in statuses if isinstance(s, Mapping)]
    report.skipped += [f"status item is not an object: {str(s)[:60]}" for s in statuses
                       if not isinstance(s, Mapping)]
    queue: list[tuple[Mapping[str, Any], Interaction | None]] = [(s, None) for s in items]
    by_id = {str(s.get("id")): s for s in items}
    for s in items:  # boosts and quotes carry the status they point at
        quote = s.get("quote") if isinstance(s.get("quote"), Mapping) else {}
        for inner in (s.get("reblog"), quote.get("quoted_status")):
            if isinstance(inner, Mapping):
                by_id.setdefault(str(inner.get("id")), inner)
    seen: set[str] = set()
    authors: dict[str, Author] = {}
    while queue:
        status, via = queue.pop(0)
        with report.item(f"status {str(status.get('id', '?'))[:40]}"):
            if isinstance(status.get("reblog"), Mapping):  # a boost: the boosted post is the post
                booster = qualify(str((status.get("account") or {}).get("acct", "")), host)
                inner = status["reblog"]
                target = qualify(str((inner.get("account") or {}).get("acct", "")), host)
                when = _when(status.get("created_at")) or stamp
                edge = Interaction(PLATFORM, "repost", booster, target, when, None, inner.get("uri"))
                if status.get("account"):
                    authors[booster] = map_account(status["account"], host)
                queue.append((inner, edge))
                continue
            parent = by_id.get(str(status.get("in_reply_to_id")))
            quoted = _quoted(status)
            # A reply's parent is what it answers; a quote's (when it answers nothing) what it quotes.
            link = parent.get("uri") if parent else (
                None if status.get("in_reply_to_id") or quoted is None else quoted.get("uri"))
            post = _post(status, host, link if isinstance(link, str) else None, stamp, report)
            if post is None:
                continue
            if via is not None:
                batch.interactions.append(via)
            if post.native_id in seen:
                continue
            seen.add(post.native_id)
            batch.posts.append(post)
            authors[post.author_native_id] = map_account(status["account"], host)
            batch.interactions.extend(_interactions(status, post, parent, host))
            for m in status.get("mentions") or []:
                if m.get("acct"):
                    handle = qualify(str(m["acct"]), host)
                    authors.setdefault(handle, Author(PLATFORM, handle, handle=handle))
            quoted = _quoted(status)
            if isinstance(quoted, Mapping) and quoted.get("account"):
                target = qualify(str(quoted["account"]["acct"]), host)
                queue.append((quoted, Interaction(PLATFORM, "quote", post.author_native_id, target,
                                                  post.created_at, post.native_id,
                                                  quoted.get("uri"))))
            for account in (reblogged_by or {}).get(str(status.get("id")), []):
                booster = map_account(account, host)
                authors[booster.native_id] = booster
                if booster.native_id != post.author_native_id:
                    batch.interactions.append(Interaction(PLATFORM, "repost", booster.native_id,
                                                          post.author_native_id, stamp, None,
                                                          post.native_id))
    batch.authors = list(authors.values())
    return batch, report


def _interactions(status: Mapping[str, Any], post: Post, parent: Mapping[str, Any] | None,
                  host: str) -> list[Interaction]:
    me, out = post.author_native_id, []
    mentions = {str(m.get("id")): qualify(str(m["acct"]), host)
                for m in status.get("mentions") or [] if m.get("acct")}
    addressed = {me}
    if status.get("in_reply_to_id"):
        # A reply mentions its parent's author (Mastodon adds it), so that mention names the
        # author even when the parent itself was not fetched.
        target = (qualify(str(parent["account"]["acct"]), host) if parent and parent.get("account")
                  else mentions.get(str(status.get("in_reply_to_account_id"))))
        if target:
            addressed.add(target)
            if target != me:
                out.append(Interaction(PLATFORM, "reply", me, target, post.created_at,
                                       post.native_id, post.parent_native_id))
    for target in mentions.values():
        if target not in addressed:
            addressed.add(target)
            out.append(Interaction(PLATFORM, "mention", me, target, post.created_at,
                                   post.native_id, None))
    return out
