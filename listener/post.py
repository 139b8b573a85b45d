"""The normalised vocabulary every source yields: Post, Author, Interaction.

Collectors and file importers map their raw payloads to these types with pure functions; the store
is the only thing that turns them into rows. Ids are the platform's own ("native") ids as strings,
so the same tweet collected twice, from a file or from the API, is the same Post.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

InteractionKind = Literal["repost", "quote", "reply", "mention"]
INTERACTION_KINDS: tuple[InteractionKind, ...] = ("repost", "quote", "reply", "mention")
SENTIMENT_LABELS = ("negative", "neutral", "positive")


# How X and most tools write a repost's text: "RT @handle: <the words it repeats>".
RETWEET_PREFIX = re.compile(r"^RT @\w{1,30}: ")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _hash_id(platform: str, native_id: str) -> int:
    digest = hashlib.blake2b(f"{platform}\x1f{native_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@lru_cache(maxsize=1 << 18)
def stable_id(platform: str, native_id: str) -> int:
    """A 63-bit row id derived from (platform, native id): the row id of posts, and the
    unkeyed id that `listener.ids.keyed` turns into an author's row id.

    Deriving the key instead of asking the database for one lets bulk imports write posts,
    authors and interactions in one pass without looking ids up, and keeps ids stable across
    runs and across databases (influence scores of run N and N+1 refer to the same author).
    Cached: the same authors and posts recur across pages.
    """
    return _hash_id(platform, native_id)


@dataclass(slots=True)
class Author:
    platform: str
    native_id: str
    handle: str | None = None
    display_name: str | None = None
    followers: int | None = None
    following: int | None = None
    verified: bool | None = None
    created_at: datetime | None = None
    # No `id` here: an author's row id is keyed (`listener.ids`), so only the store, which
    # holds the key, can tell it (`Store.author_id`).


@dataclass(slots=True)
class Post:
    platform: str
    native_id: str
    author_native_id: str
    text: str
    created_at: datetime
    lang: str | None = None
    url: str | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    views: int | None = None
    # The native id of the post this one replies to, reposts or quotes (its "parent").
    parent_native_id: str | None = None
    conversation_id: str | None = None
    # Human annotations that came with a labelled dataset; never mixed with model scores.
    gold_label: str | None = None
    gold_reason: str | None = None
    raw: dict[str, Any] | None = None
    collected_at: datetime = field(default_factory=utcnow)

    @property
    def id(self) -> int:
        return stable_id(self.platform, self.native_id)



@dataclass(slots=True)
class Interaction:
    """One act of amplification or address: ``source`` reposted/quoted/replied to/mentioned ``target``.

    Edge direction is "who amplified whom": the source author acted on the target author's post.
    """

    platform: str
    kind: InteractionKind
    source_author_native_id: str
    target_author_native_id: str
    created_at: datetime
    source_post_native_id: str | None = None
    target_post_native_id: str | None = None

    @property
    def id(self) -> int:
        key = "|".join(
            (
                self.kind,
                self.source_author_native_id,
                self.target_author_native_id,
                self.source_post_native_id or "",
                self.target_post_native_id or "",
                # Without posts to tell them apart, repeated acts differ only by their time.
                "" if self.source_post_native_id or self.target_post_native_id
                else self.created_at.isoformat(),
            )
        )
        return _hash_id(self.platform, key)  # unique per interaction: caching would only evict


@dataclass(slots=True)
class Batch:
    """What one page of a source maps to; the unit a collector or importer hands to the store."""

    posts: list[Post] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)

    def extend(self, other: Batch) -> None:
        self.posts.extend(other.posts)
        self.authors.extend(other.authors)
        self.interactions.extend(other.interactions)

    def __len__(self) -> int:
        return len(self.posts)
