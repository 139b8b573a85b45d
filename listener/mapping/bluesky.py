"""Bluesky (AT Protocol) XRPC responses -> Batch, read as the lexicons define them.

A post is an `app.bsky.feed.defs#postView` (searchPosts, getPostThread, getPosts): `uri`, `cid`,
`author` (a profileViewBasic), `record` (the `app.bsky.feed.post` record itself), counts and
`indexedAt`. Native ids are AT URIs (`at://<did>/app.bsky.feed.post/<rkey>`), authors are DIDs
(permanent, where handles change), so the author of any referenced post is known from its URI:
replies (`record.reply.parent`), quotes (`record.embed` of type app.bsky.embed.record or
recordWithMedia) and mentions (`#mention` facets) become Interactions without another request.
Reposts have no post of their own: getRepostedBy lists who reposted, without a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from listener.mapping.report import MapReport
from listener.mapping.text import as_int, clean_text, parse_time
from listener.post import Author, Batch, Interaction, Post, utcnow

__all__ = ["PLATFORM", "author_of", "map_post_views", "map_profiles", "map_reposted_by",
           "map_thread", "merge_authors", "post_url", "sort_at", "thread_posts"]

PLATFORM = "bluesky"
_EMBED_RECORD = "app.bsky.embed.record"
_EMBED_RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"
_MENTION = "app.bsky.richtext.facet#mention"
_THREAD_POST = "app.bsky.feed.defs#threadViewPost"
_VIEW_RECORD = "app.bsky.embed.record#viewRecord"


def author_of(uri: str) -> str:
    """The DID (or handle) that owns an AT URI: at://did:plc:x/app.bsky.feed.post/rkey -> did:plc:x."""
    return uri.removeprefix("at://").split("/", 1)[0]


def post_url(uri: str, handle: str | None) -> str:
    """The bsky.app address of a post; the DID stands in for a handle that did not verify."""
    actor = handle if handle and handle != "handle.invalid" else author_of(uri)
    return f"https://bsky.app/profile/{actor}/post/{uri.rsplit('/', 1)[-1]}"


def sort_at(view: dict[str, Any]) -> datetime | None:
    """The time search orders and filters by (`since`/`until`): the earlier of creation and indexing,
    so a post whose client clock claims the future still sorts when it was seen."""
    times = []
    for value in ((view.get("record") or {}).get("createdAt"), view.get("indexedAt")):
        try:
            if (t := parse_time(value)) is not None:
                times.append(t)
        except ValueError:
            continue
    return min(times) if times else None


def map_profile(profile: dict[str, Any]) -> Author:
    """A profileView, profileViewBasic or profileViewDetailed (only the last has follower counts)."""
    try:
        created = parse_time(profile.get("createdAt"))
    except ValueError:
        created = None
    return Author(
        platform=PLATFORM,
        native_id=profile["did"],
        handle=profile.get("handle"),
        display_name=profile.get("displayName") or None,
        followers=as_int(profile.get("followersCount")),
        following=as_int(profile.get("followsCount")),
        verified=(profile.get("verification") or {}).get("verifiedStatus") == "valid" or None,
        created_at=created,
    )


def merge_authors(authors: Iterable[Author]) -> list[Author]:
    """One Author per DID, each field from whichever record had it: a batch sees the same
    account as a basic view (no counts) and as a detailed profile (counts)."""
    merged: dict[str, Author] = {}
    for a in authors:
        have = merged.get(a.native_id)
        if have is None:
            merged[a.native_id] = replace(a)
            continue
        for f in fields(Author):
            if getattr(have, f.name) is None:
                setattr(have, f.name, getattr(a, f.name))
    return list(merged.values())


def _quoted(record: dict[str, Any]) -> str | None:
    """The AT URI a post quotes, if it quotes one."""
    embed = record.get("embed") or {}
    kind = embed.get("$type")
    if kind == _EMBED_RECORD:
        ref = embed.get("record") or {}
    elif kind == _EMBED_RECORD_WITH_MEDIA:
        ref = (embed.get("record") or {}).get("record") or {}
    else:
        return None
    uri = ref.get("uri") or ""
    return uri if "/app.bsky.feed.post/" in uri else None  # not a list, feed or starter pack


def _quoted_view(view: dict[str, Any]) -> dict[str, Any] | None:
    """The quoted post as the embed view shows it (a viewRecord), as a postView."""
    embed = view.get("embed") or {}
    inner = embed.get("record") or {}
    if embed.get("$type", "").startswith(_EMBED_RECORD_WITH_MEDIA):
        inner = inner.get("record") or {}
    if inner.get("$type") != _VIEW_RECORD or not inner.get("value"):
        return None
    return {**{k: v for k, v in inner.items() if k not in ("$type", "value", "embeds")},
            "record": inner["value"]}


def map_post(view: dict[str, Any], collected_at: datetime, report: MapReport) -> Post | None:
    uri, author, record = view.get("uri"), view.get("author") or {}, view.get("record") or {}
    missing = [k for k, v in (("uri", uri), ("author.did", author.get("did")),
                              ("record.createdAt", record.get("createdAt"))) if not v]
    if missing:
        report.skipped.append(f"post {uri or '?'}: missing {', '.join(missing)}")
        return None
    try:
        created = parse_time(record["createdAt"])
    except ValueError as exc:
        report.skipped.append(f"post {uri}: {exc}")
        return None
    text, changed = clean_text(record.get("text"))
    report.repaired_text += changed
    reply = record.get("reply") or {}
    parent = (reply.get("parent") or {}).get("uri") or _quoted(record)
    langs = record.get("langs") or []
    return Post(
        platform=PLATFORM,
        native_id=uri,
        author_native_id=author["did"],
        text=text,
        created_at=created,
        lang=langs[0] if langs else None,
        url=post_url(uri, author.get("handle")),
        likes=as_int(view.get("likeCount")),
        reposts=as_int(view.get("repostCount")),
        replies=as_int(view.get("replyCount")),
        quotes=as_int(view.get("quoteCount")),
        parent_native_id=parent,
        conversation_id=(reply.get("root") or {}).get("uri") or uri,
        raw=view,
        collected_at=collected_at,
    )


def _interactions(post: Post, record: dict[str, Any]) -> list[Interaction]:
    me, when = post.author_native_id, post.created_at
    out: list[Interaction] = []
    addressed = {me}  # a mention of someone already replied to or quoted is not counted twice
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
    if parent:
        target = author_of(parent)
        addressed.add(target)
        if target != me:
            out.append(Interaction(PLATFORM, "reply", me, target, when, post.native_id, parent))
    quoted = _quoted(record)
    if quoted:
        target = author_of(quoted)
        addressed.add(target)
        if target != me:
            out.append(Interaction(PLATFORM, "quote", me, target, when, post.native_id, quoted))
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or []:
            did = feature.get("did")
            if feature.get("$type") == _MENTION and did and did not in addressed:
                addressed.add(did)
                out.append(Interaction(PLATFORM, "mention", me, did, when, post.native_id, None))
    return out


def map_post_views(views: Iterable[dict[str, Any]], collected_at: datetime | None = None,
                   report: MapReport | None = None) -> tuple[Batch, MapReport]:
    """postViews -> posts, their authors, the posts they quote (from the embed view) and
    reply/quote/mention Interactions."""
    report = report or MapReport()
    stamp = collected_at or utcnow()
    batch = Batch()
    seen: set[str] = set()
    queue = list(views)
    while queue:
        view = queue.pop(0)
        if not isinstance(view, dict):
            report.skipped.append(f"post item is not an object: {str(view)[:60]}")
            continue
        with report.item(f"post {str(view.get('uri', '?'))[:80]}"):
            post = map_post(view, stamp, report)
            if post is None or post.native_id in seen:
                continue
            author = map_profile(view["author"])
            interactions = _interactions(post, view.get("record") or {})
            seen.add(post.native_id)
            batch.posts.append(post)
            batch.authors.append(author)
            batch.interactions.extend(interactions)
            if (quoted := _quoted_view(view)) is not None:
                queue.append(quoted)
    batch.authors = merge_authors(batch.authors)
    return batch, report


def thread_posts(thread: dict[str, Any]) -> list[dict[str, Any]]:
    """Every postView of a getPostThread `thread` (a threadViewPost): the post, its parents and
    all loaded replies; not-found and blocked stubs are left out."""
    out: list[dict[str, Any]] = []
    stack = [thread]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or node.get("$type", _THREAD_POST) != _THREAD_POST:
            continue
        if node.get("post"):
            out.append(node["post"])
        if node.get("parent"):
            stack.append(node["parent"])
        stack.extend(reversed(node.get("replies") or []))
    return out


def map_thread(body: dict[str, Any], collected_at: datetime | None = None) -> tuple[Batch, MapReport]:
    """An app.bsky.feed.getPostThread response."""
    return map_post_views(thread_posts(body.get("thread") or {}), collected_at)


def map_reposted_by(body: dict[str, Any], collected_at: datetime) -> Batch:
    """An app.bsky.feed.getRepostedBy response -> repost Interactions (reposter -> author).

    The response names who reposted but not when, so each repost is dated `collected_at`: the
    latest it can have happened, and the window in which Undertow learned of it.
    """
    uri = body.get("uri") or ""
    target = author_of(uri)
    batch = Batch()
    for profile in body.get("repostedBy") or []:
        if not isinstance(profile, dict) or not profile.get("did") or profile["did"] == target:
            continue
        batch.authors.append(map_profile(profile))
        batch.interactions.append(Interaction(PLATFORM, "repost", profile["did"], target,
                                              collected_at, None, uri))
    return batch


def map_profiles(body: dict[str, Any]) -> list[Author]:
    """An app.bsky.actor.getProfiles response -> Authors with follower counts."""
    return [map_profile(p) for p in body.get("profiles") or [] if isinstance(p, dict) and p.get("did")]
