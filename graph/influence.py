"""Per-author influence: each component on its own, and one combined rank that can be explained.

Components (raw values, one per author):

- ``audience``: followers where known (NaN where not).
- ``amplification``: interactions received (reposts, quotes, replies, mentions), weighted by kind
  and recency (``graph.build``).
- ``unique_amplifiers``: distinct accounts that interacted with the author.
- ``reach``: distinct users reached through repost/quote chains (``centrality.cascade_reach``).
- ``pagerank``: PageRank on the amplification graph.
- ``kcore``: core number on the undirected interaction graph.
- ``negative_share``: the author's negative posts about the brand over their posts about it.

Combination: each component is squashed to [0, 1) on a fixed log scale (``squash``: half the
points at ``HALF_POINTS``), and the influence is ``100 * sum(w * squashed) / sum(w)`` over the
components that have data: an absolute 0-100 scale, comparable across brands and runs.
``percentile`` gives the rank-relative view beside it. ``contributions`` holds each term.

Weights (``DEFAULT_WEIGHTS``): amplification alone. ``bench/influence.py`` scores every component,
the baselines and the alternatives chosen walk-forward (a learned weight set and a best single
measure, each picked only on origins before the one it is tested on, scored on windows that end
there) against what each author receives after each rolling origin, on Higgs and Twitter15
(figures in docs/influence.md). By the issue's test, at or above in-degree and every component at
every later origin, amplification with its recency chosen by ``graph.decay.choose_decay`` does
best (6 of 13 later origins, every shortfall inside the paired bootstrap interval); the learned
combination is higher on average but falls below in-degree at more origins (4 of 13). So the score
uses amplification alone, and the dashboard says so. ``audience`` cannot be checked on either
graph (no follower counts); ``negative_share`` says whose side an author is on, not how far they
reach.

Before combining, PageRank counts only above the floor every author gets from teleporting, and
the core number only for authors someone amplified: otherwise accounts that merely repost others
would outrank the many authors nobody amplified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graph.build import AmplificationGraph
from graph.centrality import REACH_DEPTH, cascade_reach, core_numbers, pagerank
from graph.edges import KIND_NAMES, GraphInputError

COMPONENTS: tuple[str, ...] = (
    "audience",
    "amplification",
    "unique_amplifiers",
    "reach",
    "pagerank",
    "kcore",
    "negative_share",
)
#: The shipped score is one measure, amplification received: walk-forward, neither a learned
#: combination nor another single measure met the goal at more later rolling origins of
#: ``bench/influence.py`` on Higgs and Twitter15 (see docs/influence.md); the other components are
#: computed and shown, with weight 0, so a caller can still weigh them.
DEFAULT_WEIGHTS: dict[str, float] = {
    "audience": 0.0,
    "amplification": 1.0,
    "unique_amplifiers": 0.0,
    "reach": 0.0,
    "pagerank": 0.0,
    "kcore": 0.0,
    "negative_share": 0.0,
}
#: The raw value at which a component gives half its points: an absolute scale, so the same
#: author scores the same in every brand's run. Amplification 50 = fifty fresh interactions.
HALF_POINTS: dict[str, float] = {
    "audience": 10_000.0,
    "amplification": 50.0,
    "unique_amplifiers": 25.0,
    "reach": 500.0,
    "pagerank": 10.0,  # times the average author's PageRank
    "kcore": 5.0,
    "negative_share": 0.5,
}
#: Plural names for the raw counts received per interaction kind, as reported in ``rows``.
RECEIVED_NAMES: dict[str, str] = {
    "repost": "reposts",
    "quote": "quotes",
    "reply": "replies",
    "mention": "mentions",
}

AuthorValues = Mapping[int, float] | tuple[np.ndarray, np.ndarray]


def per_author(ids: np.ndarray, values: AuthorValues | None) -> np.ndarray:
    """Align ``{author_id: value}`` or ``(author_ids, values)`` with ``ids``; NaN where unknown."""
    out = np.full(len(ids), np.nan)
    if values is None:
        return out
    if isinstance(values, Mapping):
        keys = np.fromiter(values.keys(), dtype=np.int64, count=len(values))
        vals = np.fromiter(
            (np.nan if v is None else v for v in values.values()),
            dtype=np.float64,
            count=len(values),
        )
    else:
        keys, vals = np.asarray(values[0], dtype=np.int64), np.asarray(values[1], dtype=float)
        if len(keys) != len(vals):
            raise GraphInputError(f"{len(keys)} author ids but {len(vals)} values")
    if len(ids) == 0 or len(keys) == 0:
        return out
    pos = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
    hit = ids[pos] == keys
    out[pos[hit]] = vals[hit]
    return out


def squash(values: np.ndarray, half: float) -> np.ndarray:
    """Map a non-negative heavy-tailed component to [0, 1): ``L / (L + log1p(half))`` with
    ``L = log1p(x)``. Fixed constants, not the run's median or maximum, so a score means the same
    in every run; strictly increasing, so it never ties authors the raw value separates."""
    log = np.log1p(np.maximum(values, 0.0))
    return np.where(np.isnan(values), np.nan, log / (log + np.log1p(half)))


@dataclass(frozen=True, eq=False)
class InfluenceScores:
    """Influence of every author of a graph; arrays are aligned with ``ids``."""

    ids: np.ndarray
    components: dict[str, np.ndarray]
    #: Points of the 0-100 influence each component adds; they sum to ``influence``.
    contributions: dict[str, np.ndarray]
    influence: np.ndarray
    #: 1 = most influential; ties broken by author id, so ranks are total and reproducible.
    rank: np.ndarray
    #: Rank-relative beside the absolute ``influence``: share (0-100) of this run's authors ranked
    #: below the author.
    percentile: np.ndarray
    #: Raw interactions received per kind (``RECEIVED_NAMES`` keys), unweighted.
    received: dict[str, np.ndarray]
    weights: dict[str, float]

    def order(self) -> np.ndarray:
        """Positions in ``ids`` from the most to the least influential."""
        return np.argsort(self.rank, kind="stable")

    def rows(self, top: int | None = None) -> list[dict[str, Any]]:
        """The ``top`` most influential authors (all by default), best first, as plain JSON-ready
        dicts: what the store saves and the dashboard explains. Unknown values are None."""
        return self._rows(self.order()[:top])

    def _rows(self, positions: np.ndarray) -> list[dict[str, Any]]:
        # Whole columns to lists, zipped into dicts: about 3x faster than one row at a time.
        columns: dict[str, list[Any]] = {}
        for name in COMPONENTS:
            values = self.components[name][positions]
            columns[name] = np.where(np.isnan(values), None, values).tolist()
        for name, counts in self.received.items():
            columns[name] = counts[positions].tolist()
        points = [np.round(c[positions], 4).tolist() for c in self.contributions.values()]
        contributions = (
            [dict(zip(self.contributions, p, strict=True)) for p in zip(*points, strict=True)]
            if points
            else [{} for _ in range(len(positions))]
        )
        components = [
            dict(zip(columns, values, strict=True), contributions=c)
            for values, c in zip(zip(*columns.values(), strict=True), contributions, strict=True)
        ]
        return [
            {"author_id": a, "rank": r, "influence": i, "percentile": p, "components": c}
            for a, r, i, p, c in zip(
                self.ids[positions].tolist(),
                self.rank[positions].tolist(),
                self.influence[positions].tolist(),
                np.round(self.percentile[positions], 2).tolist(),
                components,
                strict=True,
            )
        ]

    def frame(
        self,
        *,
        communities: np.ndarray | None = None,
        handles: Mapping[int, str] | None = None,
    ) -> pd.DataFrame:
        """The same as ``rows``, one column per value (``points_<component>`` for contributions),
        for bulk inserts and CSV; ``communities`` is aligned with ``ids``."""
        order = self.order()
        ids = self.ids[order]
        frame = pd.DataFrame(
            {"author_id": ids, "rank": self.rank[order], "influence": self.influence[order],
             "percentile": self.percentile[order]}
        )
        if handles is not None:
            frame.insert(1, "handle", [handles.get(a, "") for a in ids.tolist()])
        if communities is not None:
            frame["community"] = np.asarray(communities)[order]
        for name in COMPONENTS:
            frame[name] = self.components[name][order]
        for name, counts in self.received.items():
            frame[name] = counts[order]
        for name, points in self.contributions.items():
            frame[f"points_{name}"] = points[order]
        return frame

    def explain(self, author_id: int) -> dict[str, Any]:
        """The ``rows`` entry of one author; KeyError if the author is not in the graph."""
        hit = np.flatnonzero(self.ids == author_id)
        if len(hit) == 0:
            raise KeyError(author_id)
        return self._rows(hit[:1])[0]


def combine(
    components: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weighted mean of the squashed components on 0-100, and each component's share of it.

    Components with no data at all (no follower counts, say) leave the denominator, so the scale
    stays 0-100; an author missing one value (followers unknown) gets the median author's value.
    """
    squashed: dict[str, np.ndarray] = {}
    for name, weight in weights.items():
        if weight == 0 or name not in components:
            continue
        values = squash(np.asarray(components[name], dtype=float), HALF_POINTS.get(name, 1.0))
        known = ~np.isnan(values)
        if not known.any():
            continue
        squashed[name] = np.where(known, values, np.median(values[known]))
    total = sum(weights[name] for name in squashed)
    n = len(next(iter(components.values()))) if components else 0
    contributions = {name: 100.0 * weights[name] * s / total for name, s in squashed.items()}
    influence = np.zeros(n)
    for name in squashed:
        influence += contributions[name]
    return influence, contributions


def ranks_of(scores: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """1-based ranks by descending score, ties broken by ascending id."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.lexsort((ids, -scores))] = np.arange(1, len(ids) + 1)
    return rank


def ranking_basis(components: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The components as ``combine`` weighs them: PageRank above the teleport floor, the core
    number only for authors someone amplified (see the module doc: without these two, Spearman on
    Higgs fell from 0.13 to 0.03)."""
    basis = dict(components)
    pr = components["pagerank"]
    basis["pagerank"] = (pr - pr.min(initial=np.inf)) * len(pr)
    basis["kcore"] = np.where(components["amplification"] > 0, components["kcore"], 0.0)
    return basis


def score_influence(
    graph: AmplificationGraph,
    *,
    followers: AuthorValues | None = None,
    posts: AuthorValues | None = None,
    negative_posts: AuthorValues | None = None,
    weights: Mapping[str, float] | None = None,
    pagerank_alpha: float = 0.85,
    reach_depth: int = REACH_DEPTH,
) -> InfluenceScores:
    """Every component and the combined influence rank for each author of ``graph``.

    ``posts`` and ``negative_posts`` count each author's posts about the brand and how many of
    them were scored negative; ``negative_share`` is NaN where ``posts`` is unknown or zero.
    """
    chosen = dict(DEFAULT_WEIGHTS, **(weights or {}))
    unknown = set(chosen) - set(COMPONENTS)
    if unknown:
        raise GraphInputError(
            f"unknown influence components {sorted(unknown)}; expected {', '.join(COMPONENTS)}"
        )
    if any(w < 0 for w in chosen.values()):
        raise GraphInputError("influence weights must be non-negative")
    ids = graph.ids
    n_posts = per_author(ids, posts)
    n_negative = per_author(ids, negative_posts)
    with np.errstate(invalid="ignore", divide="ignore"):
        negative_share = np.where(n_posts > 0, np.nan_to_num(n_negative) / n_posts, np.nan)
    components = {
        "audience": per_author(ids, followers),
        "amplification": graph.received(),
        "unique_amplifiers": np.bincount(graph.target, minlength=graph.n_nodes).astype(float),
        "reach": cascade_reach(graph, depth=reach_depth),
        "pagerank": pagerank(graph, alpha=pagerank_alpha),
        "kcore": core_numbers(graph).astype(float),
        "negative_share": negative_share,
    }
    influence, contributions = combine(ranking_basis(components), chosen)
    rank = ranks_of(influence, ids)
    by_kind = graph.received_by_kind()
    received = {RECEIVED_NAMES[k]: by_kind[:, i] for i, k in enumerate(KIND_NAMES)}
    return InfluenceScores(
        ids=ids,
        components=components,
        contributions=contributions,
        influence=influence,
        rank=rank,
        percentile=100.0 * (len(ids) - rank) / max(len(ids), 1),
        received=received,
        weights=chosen,
    )
