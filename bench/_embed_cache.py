"""Embeddings cached on disk by text, so benchmark reruns (and the speed figures) reuse them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SAVE_EVERY = 2_000
CACHE = Path(os.environ.get("UNDERTOW_BENCH_CACHE", "/tmp/undertow-bench-cache"))


def encode_cached(encoder, texts: Sequence[str], tag: str) -> np.ndarray:
    """`encoder.encode(texts)`, reading and extending `CACHE/<encoder>-<tag>.npz`."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{encoder.name}-{tag}.npz"
    known: dict[str, np.ndarray] = {}
    if path.exists():
        data = np.load(path, allow_pickle=False)
        known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    # In parts, saved after each: embedding takes minutes to hours on a shared two-core machine,
    # and an interrupted run keeps what it did.
    for start in range(0, len(missing), SAVE_EVERY):
        part = missing[start:start + SAVE_EVERY]
        vectors = encoder.encode([t for _, t in part])
        known.update(zip([k for k, _ in part], vectors, strict=True))
        np.savez(path, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


def store_cached(encoder, texts: Sequence[str], vectors: np.ndarray, tag: str) -> None:
    """Write `vectors` as the cache of `texts` (the speed run's stand-ins; see bench/themes.py)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    np.savez(CACHE / f"{encoder.name}-{tag}.npz", keys=np.array(keys),
             vectors=np.asarray(vectors, dtype=np.float32))
