"""Would the audience's history lift the cascade forecast? A 5-fold test on Twitter15-format trees.

The shipped forecast (graph/cascades.py) sees only the cascade itself. This experiment adds what
a store that has listened for a while also knows: how big the earlier cascades of the accounts
reacting now grew. For a cascade observed `--age` minutes after its root post, and for each
account that reacted by then, it takes the earlier cascades that account took part in, as known
at that moment (root times come from the snowflake ids of the root posts), and summarises:

- the mean over those accounts of the shrunk mean of log(size) of the earlier cascades they had
  reacted to by then
  (sum / (count + 2), centred on log 200), and its sum;
- the share of the accounts seen before, and log(1 + number of earlier participations).

Two ways to count an earlier cascade: `known` uses its size at the forecast time; `quiet` only
counts a cascade once it has had no reaction for 48 hours (what a detector that forgets
cascades after 48 hours could keep), with its final size.

It prints the held-out ROC AUC (top quarter by final size) of the shipped feature set and of the
feature set plus the audience history, both fitted per fold exactly like the shipped model
(mean and spread, `graph.cascades._fit_age`), folds = blake2b(id) % 5. All five folds are scored,
so it reads as an estimate, not as a tuned result.

    python bench/cascade_audience.py [--trees DIR] [--age 30]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cascades import auc, load_trees, shared_data  # noqa: E402
from graph.cascades import CascadeEvent, _fit_age, cascade_fold, model_features  # noqa: E402

QUIET_MIN = 48 * 60
_CENTRE = math.log(200)


def snowflake_minutes(tweet_id: str) -> float:
    """Minutes since the epoch at which a tweet with this (post-2010) id was posted."""
    return ((int(tweet_id) >> 22) + 1288834974657) / 60000


def audience_history(
    trees: dict[str, list[CascadeEvent]], age: float, rule: str, shrink: float = 2.0
) -> np.ndarray:
    ids = sorted(trees)
    start = {c: snowflake_minutes(c) for c in ids}
    times = {c: np.sort(np.maximum([e.minutes for e in trees[c]], 0.0)) for c in ids}
    joined: dict[int, dict[str, float]] = defaultdict(dict)  # author -> cascade -> first reaction
    for c in ids:
        for e in trees[c]:
            first = joined[e.author].get(c)
            joined[e.author][c] = e.minutes if first is None else min(first, e.minutes)
    rows = []
    for c in ids:
        now = start[c] + age
        reacting = {e.author for e in trees[c] if e.minutes <= age}
        means, count = [], 0
        for a in reacting:
            sizes = []
            for o, reacted in joined[a].items():
                if o == c or start[o] + reacted > now:  # not known yet: they joined it later
                    continue
                if rule == "known":
                    sizes.append(np.searchsorted(times[o], now - start[o], side="right"))
                elif rule == "quiet" and start[o] + times[o][-1] + QUIET_MIN < now:
                    sizes.append(len(times[o]))
            if sizes:
                means.append(sum(math.log1p(s) - _CENTRE for s in sizes) / (len(sizes) + shrink))
                count += len(sizes)
        n = max(len(reacting), 1)
        rows.append([np.mean(means) if means else 0.0, sum(means), len(means) / n,
                     math.log1p(count)])  # fmt: skip
    return np.array(rows)


def held_out_auc(x: np.ndarray, y: np.ndarray, label: np.ndarray, folds: np.ndarray) -> float:
    """P(top quarter) of each cascade from the mean-and-spread model fitted without its fold."""
    from scipy.stats import norm

    first = x[:, : x.shape[1] // 2]
    threshold = np.log(np.percentile(np.exp(y), 75))
    p = np.zeros(len(y))
    for f in range(5):
        train, test = folds != f, folds == f
        m = _fit_age(x, y, folds, train, 3.0, 30.0)
        mu = x[test] @ m["coef"] + m["intercept"]
        s = np.exp(0.5 * (first[test] @ m["var_coef"] + m["var_intercept"]))
        s = np.clip(s, m["sigma"] / 2, 2 * m["sigma"])
        p[test] = norm.sf((threshold - mu) / s)
    return auc(p, label)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trees", type=Path, default=None, help="default: twitter15.tar.gz")
    ap.add_argument("--age", type=float, default=30.0, help="minutes observed (default 30)")
    args = ap.parse_args(argv)
    trees = load_trees(args.trees or shared_data() / "cascades" / "twitter15.tar.gz")
    ids = sorted(trees)
    final = np.array([len(trees[c]) for c in ids], dtype=float)
    y, label = np.log(final), final >= np.percentile(final, 75)
    folds = np.array([cascade_fold(c) for c in ids])
    base = np.array([model_features(trees[c], args.age, tree=True) for c in ids])
    first = base[:, : base.shape[1] // 2]
    print(f"{len(ids):,} cascades, observed {args.age:g} min, held-out ROC AUC (5 folds)")
    print(f"  shipped features              {held_out_auc(base, y, label, folds):.4f}")
    for rule in ("quiet", "known"):
        h = audience_history(trees, args.age, rule)
        lin = np.hstack([first, h])
        x = np.hstack([lin, lin * lin])
        print(f"  + audience history ({rule:>5})   {held_out_auc(x, y, label, folds):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
