"""The other shapes X data is archived in, turned into API v2 pages for `x.map_page`.

- **API v1.1 statuses** (twarc1, tweepy's `_json`, most archived Twitter research data): a tweet
  with its `user` inside, `id_str`, `full_text` in extended mode (or `extended_tweet.full_text`
  in streams), a retweet's original in `retweeted_status`, a quote's in `quoted_status`.
- **twarc2's flattened tweets** (`twarc2 flatten`): one v2 tweet per line with its `author`,
  referenced tweets and mentioned users expanded in place.

Converting to one shape keeps one mapping (and one set of rules for retweet counts, mentions
and stubs) for all three. Each function is pure and raises ValueError on what it cannot read.
"""

from __future__ import annotations

from typing import Any

_REF_V1 = (("retweeted_status", "retweeted"), ("quoted_status", "quoted"))


def is_v1(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("user"), dict) and (
        "id_str" in obj or "full_text" in obj or "favorite_count" in obj)


def is_flat(obj: Any) -> bool:
    return isinstance(obj, dict) and "data" not in obj and "author_id" in obj and "id" in obj and (
        isinstance(obj.get("author"), dict) or "__twarc" in obj)


def _v1_user(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user.get("id_str") or user.get("id"), "username": user.get("screen_name"),
        "name": user.get("name"), "verified": user.get("verified"),
        "created_at": user.get("created_at"),
        "public_metrics": {"followers_count": user.get("followers_count"),
                           "following_count": user.get("friends_count")},
    }


def _v1_text(tweet: dict[str, Any]) -> Any:
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and extended.get("full_text"):
        return extended["full_text"]
    return tweet.get("full_text") or tweet.get("text")


def _v1_tweet(tweet: dict[str, Any], users: list, tweets: list) -> dict[str, Any]:
    user = tweet.get("user") if isinstance(tweet.get("user"), dict) else {}
    if user:
        users.append(_v1_user(user))
    refs = []
    for key, kind in _REF_V1:
        inner = tweet.get(key)
        if isinstance(inner, dict):
            converted = _v1_tweet(inner, users, tweets)
            tweets.append(converted)
            refs.append({"type": kind, "id": converted["id"]})
    if tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id"):
        refs.append({"type": "replied_to", "id": str(tweet.get("in_reply_to_status_id_str")
                                                      or tweet["in_reply_to_status_id"])})
    entities = tweet.get("entities") if isinstance(tweet.get("entities"), dict) else {}
    mentions = [{"id": m.get("id_str") or m.get("id"), "username": m.get("screen_name")}
                for m in entities.get("user_mentions") or [] if isinstance(m, dict)]
    reply_user = tweet.get("in_reply_to_user_id_str") or tweet.get("in_reply_to_user_id")
    ident = tweet.get("id_str") or tweet.get("id")
    return {
        "id": None if ident is None else str(ident),
        "text": _v1_text(tweet),
        "author_id": user.get("id_str") or user.get("id"),
        "created_at": tweet.get("created_at"),
        "lang": tweet.get("lang"),
        "conversation_id": None,
        "in_reply_to_user_id": None if reply_user is None else str(reply_user),
        "referenced_tweets": refs,
        "entities": {"mentions": mentions},
        "public_metrics": {"like_count": tweet.get("favorite_count"),
                           "retweet_count": tweet.get("retweet_count"),
                           "reply_count": tweet.get("reply_count"),
                           "quote_count": tweet.get("quote_count")},
        "source_format": "x-v1.1",
    }


def page_from_v1(tweet: dict[str, Any]) -> dict[str, Any]:
    """One v1.1 status -> a v2 page holding it, its author, and the tweets it references."""
    users: list = []
    tweets: list = []
    data = _v1_tweet(tweet, users, tweets)
    return {"data": [data], "includes": {"users": users, "tweets": tweets}}


def page_from_flat(tweet: dict[str, Any]) -> dict[str, Any]:
    """One flattened twarc2 tweet -> the v2 page it was flattened from."""
    users: list = []
    tweets: list = []

    def strip(t: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in t.items() if k not in ("author", "__twarc")}
        if isinstance(t.get("author"), dict):
            users.append(t["author"])
        refs = []
        for ref in t.get("referenced_tweets") or []:
            if not isinstance(ref, dict):
                continue
            if "text" in ref or "author_id" in ref:  # expanded: the referenced tweet itself
                tweets.append(strip({k: v for k, v in ref.items() if k != "type"}))
            refs.append({"type": ref.get("type"), "id": ref.get("id")})
        out["referenced_tweets"] = refs
        entities = t.get("entities") if isinstance(t.get("entities"), dict) else {}
        for m in entities.get("mentions") or []:
            if isinstance(m, dict) and m.get("id") and m.get("username") and len(m) > 5:
                users.append({k: v for k, v in m.items() if k not in ("start", "end")})
        return out

    data = strip(tweet)
    return {"data": [data], "includes": {"users": users, "tweets": tweets},
            "__twarc": tweet.get("__twarc") if isinstance(tweet.get("__twarc"), dict) else {}}
