"""Interaction edges as plain arrays: the one input every graph computation starts from.

The store hands over one row per interaction (``source`` reposted/quoted/replied to/mentioned
``target``: who amplified whom). Keeping them as parallel numpy arrays, not objects, is what lets a
million edges be ranked in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Integer codes of the interaction kinds, in the order of ``listener.post.INTERACTION_KINDS``.
REPOST, QUOTE, REPLY, MENTION = 0, 1, 2, 3
KIND_CODES: dict[str, int] = {"repost": REPOST, "quote": QUOTE, "reply": REPLY, "mention": MENTION}
KIND_NAMES: tuple[str, ...] = tuple(KIND_CODES)
#: Missing post ids are -1 (store NULLs).
NO_POST = -1


class GraphInputError(ValueError):
    """The edge arrays are inconsistent (lengths differ, unknown kind code, ...): a caller bug."""


@dataclass(frozen=True, slots=True)
class Edges:
    """Parallel arrays, one entry per interaction.

    ``source``/``target`` are author ids (int64; the store's ``stable_id``), ``kind`` the codes of
    ``KIND_CODES``, ``created_at`` unix seconds, ``source_post``/``target_post`` post ids or -1.
    """

    source: np.ndarray
    target: np.ndarray
    kind: np.ndarray
    created_at: np.ndarray
    source_post: np.ndarray
    target_post: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.source)
        for name in ("target", "kind", "created_at", "source_post", "target_post"):
            if len(getattr(self, name)) != n:
                raise GraphInputError(
                    f"edge array {name!r} has {len(getattr(self, name))} entries, source has {n}"
                )
        if n and (self.kind.min() < 0 or self.kind.max() >= len(KIND_CODES)):
            raise GraphInputError(
                f"edge kinds must be codes 0..{len(KIND_CODES) - 1} "
                f"({', '.join(f'{k}={v}' for k, v in KIND_CODES.items())})"
            )

    @classmethod
    def from_arrays(
        cls,
        source: Sequence[int] | np.ndarray,
        target: Sequence[int] | np.ndarray,
        kind: Sequence[int | str] | np.ndarray,
        created_at: Sequence[float] | np.ndarray,
        source_post: Sequence[int] | np.ndarray | None = None,
        target_post: Sequence[int] | np.ndarray | None = None,
    ) -> Edges:
        """Coerce lists or arrays to ``Edges``.

        Kinds may be codes or names (``"repost"``); times unix seconds or numpy datetime64; post
        ids ints with -1, None or pandas NA for missing. Float post ids are refused: a 63-bit id
        does not survive a float column (select ``COALESCE(post_id, -1)`` instead).
        """
        src = np.asarray(source, dtype=np.int64)
        n = len(src)
        kinds = np.asarray(kind)
        if kinds.dtype.kind in "USO":
            codes, names = pd.factorize(kinds)
            unknown = sorted(set(names.tolist()) - set(KIND_CODES))
            if unknown or (codes < 0).any():
                raise GraphInputError(
                    f"unknown interaction kinds {unknown or ['(missing)']}; "
                    f"expected {', '.join(KIND_CODES)}"
                )
            kinds = np.array([KIND_CODES[name] for name in names.tolist()], dtype=np.int8)[codes]
        times = np.asarray(created_at)
        if times.dtype.kind == "M":
            times = times.astype("datetime64[ns]").astype(np.int64) / 1e9

        def posts(values: Sequence[int | None] | np.ndarray | None) -> np.ndarray:
            if values is None:
                return np.full(n, NO_POST, dtype=np.int64)
            if pd.api.types.is_float_dtype(getattr(values, "dtype", None)):
                raise GraphInputError("post ids must be integers, not floats: use -1 for missing")
            try:
                column = pd.array(values, dtype="Int64")
            except (TypeError, ValueError) as exc:
                raise GraphInputError(f"post ids must be integers, not floats: {exc}") from exc
            return column.fillna(NO_POST).to_numpy(dtype=np.int64)

        return cls(
            src,
            np.asarray(target, dtype=np.int64),
            kinds.astype(np.int8),
            times.astype(np.float64),
            posts(source_post),
            posts(target_post),
        )

    def __len__(self) -> int:
        return len(self.source)

    def select(self, mask: np.ndarray) -> Edges:
        return Edges(
            self.source[mask],
            self.target[mask],
            self.kind[mask],
            self.created_at[mask],
            self.source_post[mask],
            self.target_post[mask],
        )

    def window(self, since: float | None = None, until: float | None = None) -> Edges:
        """Edges with ``since <= created_at < until`` (either bound may be open)."""
        mask = np.ones(len(self), dtype=bool)
        if since is not None:
            mask &= self.created_at >= since
        if until is not None:
            mask &= self.created_at < until
        return self.select(mask)

    def canonical(self) -> Edges:
        """The same edges in a fixed order, so float sums, and so ranks, never depend on input order."""
        order = np.lexsort(
            (
                self.source_post,
                self.target_post,
                self.created_at,
                self.kind,
                self.source,
                self.target,
            )
        )
        return self.select(order)
