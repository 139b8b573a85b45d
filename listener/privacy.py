"""Pure transforms applied to every batch before it is stored: erasure filter and pseudonymisation.

Pseudonymisation (opt-in) keeps public figures named, because brand teams must see who the
influencers are, and stores everyone else under a keyed hash of their id, with handle, display
name and raw payload dropped and @mentions of them in texts replaced by "@user". The key comes
from the environment (UNDERTOW_PSEUDONYM_KEY), never from the database, so the store alone cannot
be reversed. Known limit: a mention of an account whose size the source did not tell us stays in
the text unless that account is pseudonymised in the same batch.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace
from datetime import datetime

from listener.post import Author, Batch, Interaction, Post


def subject_hash(key: bytes, kind: str, platform: str, native_id: str) -> str:
    """A keyed hash naming an erased author, post or identifying term without storing it."""
    msg = f"{kind}\x1f{platform}\x1f{native_id if kind == 'post' else native_id.lower()}"
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


_TOKEN = re.compile(r"@?\w{3,}")
ERASED = "[erased]"


def _redact_terms(value, erased: dict[str, datetime], key: bytes, platform: str):
    """Replace every token (handle, id) whose keyed hash was recorded as erased, at any depth."""
    if isinstance(value, str):
        def sub(m: re.Match) -> str:
            term = m.group(0).lstrip("@").lower()
            return ERASED if subject_hash(key, "term", platform, term) in erased else m.group(0)

        return _TOKEN.sub(sub, value)
    if isinstance(value, dict):
        return {k: _redact_terms(v, erased, key, platform) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_terms(v, erased, key, platform) for v in value]
    return value


def drop_erased(batch: Batch, erased: dict[str, datetime], key: bytes,
                redact_terms: bool = True) -> tuple[Batch, int]:
    """Leave out what was erased, unless the author posted again publicly after the erasure.

    Others' posts that mention an erased author are kept with the mentions redacted (hashing
    every token is the costly part: `redact_terms=False` when no author was ever erased).
    """
    if not erased:
        return batch, 0

    def author_gone(platform: str, native: str, at: datetime | None) -> bool:
        when = erased.get(subject_hash(key, "author", platform, native))
        return when is not None and (at is None or at <= when)

    def post_gone(p: Post) -> bool:
        return (subject_hash(key, "post", p.platform, p.native_id) in erased
                or author_gone(p.platform, p.author_native_id, p.created_at))

    posts = [p for p in batch.posts if not post_gone(p)]
    if redact_terms:
        posts = [replace(p, text=_redact_terms(p.text, erased, key, p.platform),
                         raw=_redact_terms(p.raw, erased, key, p.platform)) for p in posts]
    kept_posts = {(p.platform, p.native_id) for p in posts}
    newest = {}
    for p in posts:
        k = (p.platform, p.author_native_id)
        newest[k] = max(newest.get(k, p.created_at), p.created_at)
    authors = [a for a in batch.authors
               if not author_gone(a.platform, a.native_id, newest.get((a.platform, a.native_id)))]
    def gone_target(i: Interaction) -> bool:
        return (i.target_post_native_id is not None
                and subject_hash(key, "post", i.platform, i.target_post_native_id) in erased)

    interactions = [
        i for i in batch.interactions
        if (i.source_post_native_id is None or (i.platform, i.source_post_native_id) in kept_posts)
        and not gone_target(i)
        and not author_gone(i.platform, i.source_author_native_id, i.created_at)
        and not author_gone(i.platform, i.target_author_native_id, i.created_at)
    ]
    dropped = len(batch.posts) - len(posts)
    return Batch(posts, authors, interactions), dropped


def pseudonymise(batch: Batch, key: bytes, threshold: int) -> Batch:
    """Replace authors below `threshold` followers (or of unknown size) by keyed pseudonyms."""
    big = {(a.platform, a.native_id) for a in batch.authors
           if a.followers is not None and a.followers >= threshold}

    def alias(platform: str, native: str) -> str:
        if (platform, native) in big or native.startswith("anon:"):
            return native
        digest = hmac.new(key, f"{platform}\x1f{native}".encode(), hashlib.sha256).hexdigest()
        return f"anon:{digest[:20]}"

    hidden_handles = {a.handle.lower() for a in batch.authors
                      if a.handle and (a.platform, a.native_id) not in big}
    pattern = (re.compile(r"(?<![\w@])@(" + "|".join(map(re.escape, sorted(hidden_handles))) + r")\b",
                          re.IGNORECASE) if hidden_handles else None)

    def scrub(text: str) -> str:
        return pattern.sub("@user", text) if pattern else text

    authors = [
        a if (a.platform, a.native_id) in big
        else Author(a.platform, alias(a.platform, a.native_id), followers=a.followers,
                    following=a.following, verified=a.verified)
        for a in batch.authors
    ]
    posts = []
    for p in batch.posts:
        hidden = (p.platform, p.author_native_id) not in big
        posts.append(replace(
            p, author_native_id=alias(p.platform, p.author_native_id), text=scrub(p.text),
            url=None if hidden else p.url,
            raw={"pseudonymised": True} if (hidden or pattern) and p.raw is not None else p.raw))
    interactions = [
        Interaction(i.platform, i.kind, alias(i.platform, i.source_author_native_id),
                    alias(i.platform, i.target_author_native_id), i.created_at,
                    i.source_post_native_id, i.target_post_native_id)
        for i in batch.interactions
    ]
    return Batch(posts, authors, interactions)
