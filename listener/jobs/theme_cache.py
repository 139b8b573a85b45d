"""Sentence vectors the themes job already computed, kept on disk by text and encoder.

Why: embedding is nearly all of the themes job's time (the encoder does 30-70 posts a second per
core on this project's machines), and `listen` runs the job after every pass over mostly the
same posts. A post is embedded once; later runs, and the other brands that quote the same words,
read its vector from here. Keyed by the SHA-1 of the cleaned text, so copies share one vector.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["VectorCache"]


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class VectorCache:
    """`encode(encoder, texts)`: the encoder's vectors, computing only those not stored yet."""

    def __init__(self, folder: Path, encoder_name: str) -> None:
        safe = re.sub(r"[^\w.-]+", "_", encoder_name)
        self.path = folder / f"vectors-{safe}.npz"
        self._known: dict[str, np.ndarray] | None = None
        self.computed = 0  # texts embedded by this cache object (the rest came from disk)

    def _load(self) -> dict[str, np.ndarray]:
        if self._known is None:
            self._known = {}
            if self.path.exists():
                data = np.load(self.path, allow_pickle=False)
                self._known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        return self._known

    def encode(self, encoder, texts: Sequence[str]) -> np.ndarray:
        known = self._load()
        keys = [_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        if missing:
            vectors = encoder.encode(list(missing.values()))
            known.update(zip(missing, vectors, strict=True))
            self.computed += len(missing)
            self._save()
        if not keys:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        known = self._load()
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
        tmp.replace(self.path)  # a reader never sees half a file
