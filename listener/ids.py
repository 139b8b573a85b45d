"""Keyed author ids: a person's row id cannot be recomputed from their handle without the key.

An author's row id used to be `stable_id(platform, native_id)`, an unkeyed hash anyone holding
a handle's native id can recompute, so an id left in an export, a backup or a log named the
person. Now it is HMAC-SHA256 under a secret key (`listener.id_key` finds it; it is never in the
database) of that unkeyed id: `author_id = keyed(key, stable_id(platform, native_id))`.

Keying the unkeyed id rather than the native id itself is what lets migration 0014 re-key an
existing store from the stored ids alone: every author id column and every id inside JSON copies
maps through the same function, including ids whose author row is gone, and the result equals
what a fresh import under the same key writes. Post and interaction ids stay unkeyed: they are
derived from posts' own public ids, and an author's interactions are erased with them.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from listener.post import stable_id

__all__ = ["AuthorIds", "key_check", "keyed"]

_DOMAIN = b"undertow author id\x1f"


def keyed(key: bytes, unkeyed: int) -> int:
    """The 63-bit keyed id of an unkeyed `stable_id` (positive, fits a signed BIGINT)."""
    digest = hmac.new(key, _DOMAIN + unkeyed.to_bytes(8, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def key_check(key: bytes) -> str:
    """A fingerprint kept in `meta` so a store refuses a different key instead of mixing ids.

    It tells nothing the ids do not: anyone holding the store and one public handle can already
    test a guessed key against that handle's id. With a random 256-bit key neither helps.
    """
    return hmac.new(key, b"undertow id key check", hashlib.sha256).hexdigest()[:32]


class AuthorIds:
    """`ids(platform, native_id)` -> the author's row id under one key (cached per key)."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("an author id key is needed")
        self._key = key
        self._cached = lru_cache(maxsize=1 << 18)(self._compute)

    def _compute(self, platform: str, native_id: str) -> int:
        return keyed(self._key, stable_id(platform, native_id))

    def __call__(self, platform: str, native_id: str) -> int:
        return self._cached(platform, native_id)

    def of_unkeyed(self, unkeyed: int) -> int:
        return keyed(self._key, unkeyed)

    def derive(self, purpose: bytes) -> bytes:
        """A separate key for another use (erasure records), so neither reveals the other."""
        digest = hmac.new(self._key, b"undertow derived\x1f" + purpose, hashlib.sha256)
        return digest.hexdigest().encode()

    @property
    def check(self) -> str:
        return key_check(self._key)

    def __repr__(self) -> str:  # never the key
        return "AuthorIds(<key>)"
