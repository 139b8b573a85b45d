"""X API v2 response pages (search, stream, lookups; as twarc2 saves them) -> Batch.

A page is `{"data": [...] | {...}, "includes": {"users": [...], "tweets": [...]}, ...}`.
Referenced tweets in `includes.tweets` become posts too; retweets, quotes and replies become
Interactions from the acting author to the referenced tweet's author; @mentions become mention
Interactions (except the automatic ones: the retweeted author of an "RT @x:" and the replied-to
author of a reply, already counted by those interactions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from listener.mapping.report import MapReport
from listener.mapping.text import as_int, clean_text, parse_time
from listener.post import Author, Batch, Interaction, Post, utcnow

PLATFORM = "x"
_REF_KIND = {"retweeted": "repost", "quoted": "quote", "replied_to": "reply"}


def map_user(user: dict[str, Any]) -> Author:
    metrics = user.get("public_metrics") or {}
    return Author(
        platform=PLATFORM,
        native_id=str(user["id"]),
        handle=user.get("username"),
        display_name=user.get("name"),
        followers=as_int(metrics.get("followers_count")),
        following=as_int(metrics.get("following_count")),
        verified=user.get("verified"),
        created_at=parse_time(user.get("created_at")),
    )


def tweet_url(tweet_id: str, username: str | None) -> str:
    return f"https://x.com/{username}/status/{tweet_id}" if username else \
        f"https://x.com/i/web/status/{tweet_id}"


def map_tweet(tweet: dict[str, Any], handles: dict[str, str], collected_at: datetime,
              report: MapReport) -> Post | None:
    missing = [k for k in ("id", "text", "author_id", "created_at") if not tweet.get(k)]
    if missing:
        report.skipped.append(f"tweet {tweet.get('id', '?')}: missing {', '.join(missing)}")
        return None
    try:
        created = parse_time(tweet["created_at"])
    except ValueError as exc:
        report.skipped.append(f"tweet {tweet['id']}: {exc}")
        return None
    if not isinstance(tweet["text"], str):
        raise ValueError("text is not a string")
    text, changed = clean_text(tweet["text"])
    report.repaired_text += changed
    metrics = tweet.get("public_metrics") or {}
    refs = [r for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict) and r.get("id")]
    if any(r.get("type") == "retweeted" for r in refs):
        # X puts the original's counts on each retweet; a retweet has none of its own (it
        # cannot be liked or replied to), so storing them would count the original N+1 times.
        metrics = {"like_count": 0, "retweet_count": 0, "reply_count": 0, "quote_count": 0}
    author = str(tweet["author_id"])
    return Post(
        platform=PLATFORM,
        native_id=str(tweet["id"]),
        author_native_id=author,
        text=text,
        created_at=created,
        lang=tweet.get("lang"),
        url=tweet_url(str(tweet["id"]), handles.get(author)),
        likes=as_int(metrics.get("like_count")),
        reposts=as_int(metrics.get("retweet_count")),
        replies=as_int(metrics.get("reply_count")),
        quotes=as_int(metrics.get("quote_count")),
        views=as_int(metrics.get("impression_count")),
        parent_native_id=str(refs[0]["id"]) if refs else None,
        conversation_id=tweet.get("conversation_id"),
        raw=tweet,
        collected_at=collected_at,
    )


def _interactions(tweet: dict[str, Any], post: Post, authors_of: dict[str, str],
                  ids_of: dict[str, str]) -> list[Interaction]:
    """`ids_of`: user id by lower-cased username, for mentions that carry only the username."""
    out: list[Interaction] = []
    skip_mentions: set[str] = set()
    for ref in tweet.get("referenced_tweets") or []:
        kind = _REF_KIND.get(ref.get("type"))
        if kind is None:
            continue
        target_author = authors_of.get(str(ref.get("id")))
        if target_author is None and kind == "reply":
            target_author = tweet.get("in_reply_to_user_id")
        if target_author is None and kind == "repost":
            mentions = (tweet.get("entities") or {}).get("mentions") or []
            target_author = mentions[0].get("id") if mentions else None
        if target_author is None:
            continue  # the API withheld the referenced tweet; the post itself is kept
        target_author = str(target_author)
        if kind in ("repost", "reply"):
            skip_mentions.add(target_author)
        out.append(Interaction(PLATFORM, kind, post.author_native_id, target_author,
                               post.created_at, post.native_id, str(ref["id"])))
    if tweet.get("in_reply_to_user_id"):
        skip_mentions.add(str(tweet["in_reply_to_user_id"]))
    for mention in _mentions(tweet):
        target = mention.get("id") or ids_of.get(str(mention.get("username") or "").lower())
        if not target or str(target) in skip_mentions or str(target) == post.author_native_id:
            continue
        skip_mentions.add(str(target))
        out.append(Interaction(PLATFORM, "mention", post.author_native_id, str(target),
                               post.created_at, post.native_id, None))
    return out


def _objects(value) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _mentions(tweet) -> list[dict[str, Any]]:
    entities = tweet.get("entities") if isinstance(tweet, dict) else None
    return _objects(entities.get("mentions")) if isinstance(entities, dict) else []


def _retrieved_at(page: dict[str, Any]) -> datetime | None:
    """When twarc fetched the page; an unreadable stamp only loses the stamp."""
    meta = page.get("__twarc")
    try:
        return parse_time(meta.get("retrieved_at")) if isinstance(meta, dict) else None
    except (ValueError, TypeError, OverflowError, OSError):
        return None


def map_page(page: dict[str, Any], collected_at: datetime | None = None) -> tuple[Batch, MapReport]:
    """Map one API v2 response page (or one streamed tweet) to a Batch."""
    report = MapReport()
    batch = Batch()
    stamp = _retrieved_at(page) or collected_at or utcnow()
    data = page.get("data") or []
    tweets = [data] if isinstance(data, dict) else list(data) if isinstance(data, list) else []
    includes = page.get("includes") or {}
    if not isinstance(includes, dict):
        includes = {}
    for user in _objects(includes.get("users")):
        with report.item(f"user {str(user.get('id', '?'))[:40] if isinstance(user, dict) else '?'}"):
            if user.get("id"):
                batch.authors.append(map_user(user))
    handles = {a.native_id: a.handle for a in batch.authors if isinstance(a.handle, str)}
    included = includes.get("tweets") or []
    every = [*tweets, *(included if isinstance(included, list) else [])]
    for tweet in every:
        for mention in _mentions(tweet):
            if mention.get("id") and isinstance(mention.get("username"), str):
                handles.setdefault(str(mention["id"]), mention["username"])
                batch.authors.append(Author(PLATFORM, str(mention["id"]),
                                            handle=mention["username"]))
    ids_of = {h.lower(): i for i, h in handles.items() if isinstance(h, str)}
    authors_of = {str(t["id"]): str(t["author_id"]) for t in every
                  if isinstance(t, dict) and t.get("id") and t.get("author_id")}
    seen: set[str] = set()
    for tweet in every:
        if not isinstance(tweet, dict):
            report.skipped.append(f"item is not an object: {str(tweet)[:60]}")
            continue
        with report.item(f"tweet {str(tweet.get('id', '?'))[:40]}"):
            post = map_tweet(tweet, handles, stamp, report)
            if post is None or post.native_id in seen:
                continue
            seen.add(post.native_id)
            interactions = _interactions(tweet, post, authors_of, ids_of)
            batch.posts.append(post)
            batch.interactions.extend(interactions)
    for err in _objects(page.get("errors")):
        report.skipped.append(
            f"{err.get('resource_type', 'item')} {err.get('resource_id', err.get('value', '?'))}: "
            f"{err.get('title') or err.get('detail') or 'error'}"
        )
    return batch, report
