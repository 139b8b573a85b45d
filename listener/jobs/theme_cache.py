"""Sentence vectors the themes job already computed, kept on disk by text and encoder.

Why: embedding is nearly all of the themes job's time (the encoder does 30-70 posts a second per
core on this project's machines), and `listen` runs the job after every pass over mostly the
same posts. A post is embedded once; later runs, and the other brands that quote the same words,
read its vector from here. Keyed by the SHA-1 of the cleaned text, so copies share one vector.

Layout: a folder of segments, each a pair of .npy files (keys, vectors) written once. A run
that embeds something adds one segment with those vectors only, and reads vectors through a
memory map, so an incremental pass over 1,000 new posts neither loads nor rewrites the
100,000 vectors before it (150 MB with MiniLM): what it reads is every key (20 bytes each) and
the rows it asks for. Past `MAX_SEGMENTS` the segments are merged into one. The single-file
`vectors-<encoder>.npz` of before is read and turned into the first segment.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["VectorCache"]

MAX_SEGMENTS = 48


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _hex_rows(keys: np.ndarray) -> list[str]:
    """The hex digests of a keys file's rows (n x 20 bytes)."""
    text = np.ascontiguousarray(keys, dtype=np.uint8).tobytes().hex()
    return [text[i:i + 40] for i in range(0, len(text), 40)]


class VectorCache:
    """`encode(encoder, texts)`: the encoder's vectors, computing only those not stored yet."""

    def __init__(self, folder: Path, encoder_name: str) -> None:
        safe = re.sub(r"[^\w.-]+", "_", encoder_name)
        self.legacy = folder / f"vectors-{safe}.npz"
        self.folder = folder / f"vectors-{safe}"
        self._where: dict[str, tuple[str, int]] | None = None  # key -> (segment, row)
        self._maps: dict[str, np.ndarray] = {}
        self.computed = 0  # texts embedded by this cache object (the rest came from disk)

    def _segments(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name[:-len(".keys.npy")] for p in self.folder.glob("*.keys.npy"))

    def _load(self) -> dict[str, tuple[str, int]]:
        if self._where is None:
            if self.legacy.exists():
                data = np.load(self.legacy, allow_pickle=False)
                self._write(data["keys"].tolist(), np.asarray(data["vectors"]))
                self.legacy.unlink()
            self._where = {}
            for seg in self._segments():
                keys = np.load(self.folder / f"{seg}.keys.npy", allow_pickle=False)
                self._where.update((k, (seg, i)) for i, k in enumerate(_hex_rows(keys)))
        return self._where

    def _vectors(self, seg: str) -> np.ndarray:
        if seg not in self._maps:
            self._maps[seg] = np.load(self.folder / f"{seg}.vecs.npy", mmap_mode="r")
        return self._maps[seg]

    def encode(self, encoder, texts: Sequence[str]) -> np.ndarray:
        where = self._load()
        keys = [_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in where}
        fresh: dict[str, np.ndarray] = {}
        if missing:
            vectors = np.asarray(encoder.encode(list(missing.values())), dtype=np.float32)
            fresh = dict(zip(missing, vectors, strict=True))
            self.computed += len(missing)
            self._write(list(missing), vectors)
        if not keys:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        out = np.empty((len(keys), encoder.dim), dtype=np.float32)
        by_seg: dict[str, tuple[list[int], list[int]]] = {}
        for i, k in enumerate(keys):
            if k in fresh:
                out[i] = fresh[k]
            else:
                seg, row = where[k]
                rows = by_seg.setdefault(seg, ([], []))
                rows[0].append(i)
                rows[1].append(row)
        for seg, (at, rows) in by_seg.items():
            out[at] = self._vectors(seg)[rows]
        return out

    def _write(self, keys: list[str], vectors: np.ndarray) -> None:
        """One new segment; a reader sees it whole or not at all (the keys file comes last)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        seg = f"{time.time_ns():020d}-{os.getpid()}"
        # Raw digests, 20 bytes a row (numpy's "S20" would drop a digest's trailing zero bytes).
        binary = np.frombuffer(bytes.fromhex("".join(keys)), dtype=np.uint8).reshape(-1, 20)
        for suffix, value in (("vecs", np.asarray(vectors, dtype=np.float32)),
                              ("keys", binary)):
            tmp = self.folder / f"{seg}.{suffix}.tmp.npy"
            np.save(tmp, value)
            tmp.replace(self.folder / f"{seg}.{suffix}.npy")
        if self._where is not None:
            self._where.update((k, (seg, i)) for i, k in enumerate(keys))
        if len(self._segments()) > MAX_SEGMENTS:
            self._merge()

    def _merge(self) -> None:
        """All segments into one (rare: every `MAX_SEGMENTS` runs that embedded something)."""
        segs = self._segments()
        keys = np.concatenate([np.load(self.folder / f"{s}.keys.npy") for s in segs])
        vecs = np.concatenate([np.load(self.folder / f"{s}.vecs.npy") for s in segs])
        self._maps.clear()
        merged = f"{time.time_ns():020d}-{os.getpid()}-merged"
        for suffix, value in (("vecs", vecs), ("keys", keys)):
            tmp = self.folder / f"{merged}.{suffix}.tmp.npy"
            np.save(tmp, value)
            tmp.replace(self.folder / f"{merged}.{suffix}.npy")
        for s in segs:  # keys first: a segment without its keys file is not read
            (self.folder / f"{s}.keys.npy").unlink(missing_ok=True)
            (self.folder / f"{s}.vecs.npy").unlink(missing_ok=True)
        self._where = None
