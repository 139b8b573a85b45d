"""Would the audience's history lift the cascade forecast? A 5-fold test on Twitter15-format trees.

The shipped forecast (graph/cascades.py) sees only the cascade itself. This experiment adds what
a store that has listened for a while also knows: how big the earlier cascades of the accounts
reacting now grew. For a cascade observed `--age` minutes after its root post, and for each
account that reacted by then, it takes the earlier cascades that account took part in, as known
at that moment (root times come from the snowflake ids of the root posts), and summarises:

- the mean over those accounts of the shrunk mean of log(size) of the earlier cascades they had
  reacted to by then (sum / (count + 2), centred on log 200);
- the share of the accounts seen before, and log(1 + number of earlier participations).

(No sum over the accounts: it grows with the audience beyond any fitted range; see
graph.cascades.AUDIENCE_FEATURES.)

Two ways to count an earlier cascade: `known` uses its size at the forecast time; `quiet` only
counts a cascade once it has had no reaction for 48 hours (what a detector that forgets
cascades after 48 hours could keep), with its final size.

It prints the held-out ROC AUC (top quarter by final size) of the tree feature set and of the
feature set plus the audience history, both fitted per fold exactly like the shipped model
(mean and spread, `graph.cascades._fit_age`), folds = blake2b(id) % 5, on four splits:
`dev` (3-fold CV within folds 0-2, where candidates are compared), `pick` (fit on 0-2, score
fold 3, where one is chosen), `report` (fit on 0-3, score fold 4, looked at once) and `all5`
(every cascade by the model fitted without its fold, what bench/cascades.py reports), and the
95% paired bootstrap interval of the all5 gain.

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
        rows.append([np.mean(means) if means else 0.0, len(means) / n, math.log1p(count)])
    return np.array(rows)


SPLITS = {  # name: [(training folds, scored folds), ...]
    "dev": [([1, 2], [0]), ([0, 2], [1]), ([0, 1], [2])],
    "pick": [([0, 1, 2], [3])],
    "report": [([0, 1, 2, 3], [4])],
    "all5": [([g for g in range(5) if g != f], [f]) for f in range(5)],
}


def held_out_p(x: np.ndarray, y: np.ndarray, folds: np.ndarray, split: str) -> np.ndarray:
    """P(top quarter) of the scored cascades from the mean-and-spread model fitted on the
    training folds only (NaN for cascades the split does not score)."""
    from scipy.stats import norm

    first = x[:, : x.shape[1] // 2]
    threshold = np.log(np.percentile(np.exp(y), 75))
    p = np.full(len(y), np.nan)
    for train_folds, test_folds in SPLITS[split]:
        train, test = np.isin(folds, train_folds), np.isin(folds, test_folds)
        m = _fit_age(x, y, folds, train, 3.0, 30.0)
        mu = x[test] @ m["coef"] + m["intercept"]
        s = np.exp(0.5 * (first[test] @ m["var_coef"] + m["var_intercept"]))
        s = np.clip(s, m["sigma"] / 2, 2 * m["sigma"])
        p[test] = norm.sf((threshold - mu) / s)
    return p


def paired_gain_ci(a: np.ndarray, b: np.ndarray, label: np.ndarray, n: int = 1000,
                   seed: int = 7) -> list[float]:
    """95% bootstrap interval of AUC(a) - AUC(b), cascades resampled (seeded)."""
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(n):
        i = rng.integers(0, len(label), len(label))
        if 0 < label[i].sum() < len(i):
            gains.append(auc(a[i], label[i]) - auc(b[i], label[i]))
    return np.round(np.quantile(gains, [0.025, 0.975]), 4).tolist()


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
    print(f"{len(ids):,} cascades, observed {args.age:g} min, held-out ROC AUC")
    print(f"  {'':30} " + " ".join(f"{s:>7}" for s in SPLITS) + "  all5 gain 95% CI")
    sets = {"tree features": base}
    for rule in ("quiet", "known"):
        lin = np.hstack([first, audience_history(trees, args.age, rule)])
        sets[f"+ audience history ({rule})"] = np.hstack([lin, lin * lin])
    ref = None
    for name, x in sets.items():
        ps = {s: held_out_p(x, y, folds, s) for s in SPLITS}
        aucs = []
        for p in ps.values():
            keep = ~np.isnan(p)
            aucs.append(f"{auc(p[keep], label[keep]):7.4f}")
        gain = "" if ref is None else "{:+.4f}..{:+.4f}".format(
            *paired_gain_ci(ps["all5"], ref, label))
        ref = ps["all5"] if ref is None else ref
        print(f"  {name:30} " + " ".join(aucs) + f"  {gain}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
