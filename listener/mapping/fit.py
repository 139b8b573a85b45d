"""What the store accepts, checked once for every source before anything is written.

Mappers are written against the payloads their authors saw; real archives hold anything (a list
where a string was expected, 1e30 likes, NUL in a handle, a 140-character RSS guid). `fit_batch`
is the shared gate between every importer or collector and the store: a post or author that
cannot be stored is listed with a reason and left out, an optional field that cannot be stored
(a 60-character language tag, an out-of-range count) is dropped from its record, and everything
else goes through unchanged. The column sizes in `listener.store.schema` are these constants.
"""

from __future__ import annotations

import math
from datetime import datetime

from listener.post import INTERACTION_KINDS, Author, Batch, Interaction, Post

PLATFORM_MAX = 32
NATIVE_ID_MAX = 512  # RSS guids are URLs (134 and 140 characters seen); 4 bytes each fits a btree
HANDLE_MAX = 256
LANG_MAX = 64  # BCP-47 tags run to 35+ characters; longer is not a language tag
URL_MAX = 4096
GOLD_MAX = 16
REASON_MAX = 128
INT_MAX = (1 << 63) - 1  # BIGINT

_COUNTS = ("likes", "reposts", "replies", "quotes", "views")


def scrub(value: str) -> str:
    """PostgreSQL cannot store NUL in text; U+FFFD keeps the position visible."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _key(value, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, not {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{name} is {len(value):,} characters (at most {limit:,})")
    return scrub(value)


def _optional(value, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return None
    value = scrub(value)
    return value if len(value) <= limit else None


def _count(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not isinstance(value, int | float):
        return None
    number = int(value)
    return number if -INT_MAX <= number <= INT_MAX else None


def fit_post(p: Post) -> Post:
    """`p` as the store can hold it; ValueError when its identity or text cannot be stored."""
    p.platform = _key(p.platform, "platform", PLATFORM_MAX)
    p.native_id = _key(p.native_id, "id", NATIVE_ID_MAX)
    p.author_native_id = _key(p.author_native_id, "author id", NATIVE_ID_MAX)
    if not isinstance(p.text, str):
        raise ValueError(f"text must be a string, not {type(p.text).__name__}")
    p.text = scrub(p.text)
    if not isinstance(p.created_at, datetime):
        raise ValueError("created_at is not a time")
    p.lang = _optional(p.lang, LANG_MAX)
    p.url = _optional(p.url, URL_MAX)
    p.parent_native_id = _optional(p.parent_native_id, NATIVE_ID_MAX)
    p.conversation_id = _optional(p.conversation_id, NATIVE_ID_MAX)
    p.gold_label = _optional(p.gold_label, GOLD_MAX)
    p.gold_reason = _optional(p.gold_reason, REASON_MAX)
    for name in _COUNTS:
        setattr(p, name, _count(getattr(p, name)))
    if p.raw is not None and not isinstance(p.raw, dict):
        p.raw = {"value": p.raw}
    return p


def fit_author(a: Author) -> Author:
    a.platform = _key(a.platform, "platform", PLATFORM_MAX)
    a.native_id = _key(a.native_id, "author id", NATIVE_ID_MAX)
    a.handle = _optional(a.handle, HANDLE_MAX)
    a.display_name = _optional(a.display_name, HANDLE_MAX)
    a.followers = _count(a.followers)
    a.following = _count(a.following)
    a.verified = a.verified if isinstance(a.verified, bool) else None
    a.created_at = a.created_at if isinstance(a.created_at, datetime) else None
    return a


def fit_interaction(i: Interaction) -> Interaction:
    i.platform = _key(i.platform, "platform", PLATFORM_MAX)
    if i.kind not in INTERACTION_KINDS:
        raise ValueError(f"unknown interaction kind {str(i.kind)[:20]!r}")
    i.source_author_native_id = _key(i.source_author_native_id, "source author", NATIVE_ID_MAX)
    i.target_author_native_id = _key(i.target_author_native_id, "target author", NATIVE_ID_MAX)
    if not isinstance(i.created_at, datetime):
        raise ValueError("created_at is not a time")
    for name in ("source_post_native_id", "target_post_native_id"):
        value = getattr(i, name)
        if value is not None:
            setattr(i, name, _key(value, name.replace("_", " "), NATIVE_ID_MAX))
    return i


def _label(kind: str, record) -> str:
    ident = getattr(record, "native_id", None) or getattr(record, "source_post_native_id", None)
    return f"{kind} {str(ident)[:80] if ident is not None else '?'}"


def fit_batch(batch: Batch) -> tuple[Batch, list[str]]:
    """(what can be stored, a reason per record left out); the input batch is not reused."""
    out, skipped = Batch(), []
    dropped_posts: set[tuple[str, str]] = set()
    dropped_authors: set[tuple[str, str]] = set()
    for p in batch.posts:
        try:
            out.posts.append(fit_post(p))
        except (ValueError, TypeError, AttributeError) as exc:
            skipped.append(f"{_label('post', p)}: {exc}")
            dropped_posts.add((str(p.platform), str(p.native_id)))
            dropped_authors.add((str(p.platform), str(p.author_native_id)))
    for a in batch.authors:
        try:
            out.authors.append(fit_author(a))
        except (ValueError, TypeError, AttributeError) as exc:
            if (str(a.platform), str(a.native_id)) not in dropped_authors:  # else its post is listed
                skipped.append(f"{_label('author', a)}: {exc}")
    for i in batch.interactions:
        if (str(i.platform), str(i.source_post_native_id)) in dropped_posts:
            continue  # its post was listed already
        try:
            out.interactions.append(fit_interaction(i))
        except (ValueError, TypeError, AttributeError) as exc:
            skipped.append(f"{i.kind} interaction of post {str(i.source_post_native_id)[:80]}: {exc}")
    return out, skipped
