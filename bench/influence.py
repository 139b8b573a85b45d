"""Does the influence rank predict who gets amplified next? Measured on the Higgs Twitter data.

Reads the SNAP Higgs activity file (`userA userB unix_ts RT|MT|RE`: RT = A retweeted B, MT = A
mentioned B, RE = A replied to B). Ranks users on the events of the first `--split-days` days
(from the first event) and scores each ranking against the retweets each user receives in the rest
of the file:

- Spearman correlation over all users of the file (users absent before the split score 0);
- precision@100: overlap of the ranking's top 100 with the 100 most retweeted users, / 100;
- NDCG@100 with the future retweet counts as gains.

Rankings: Undertow's combined influence, each of its components on its own, and the baselines
past_retweets (retweets received before the split), in_degree (interactions of any kind received
before the split) and posts (events the user authored before the split). Ties, in the rankings
and in the truth, are broken by a seeded random order of users, never by user id: Higgs ids are
not random (small ids are the popular accounts), so an id tie-break would leak the answer.

    python bench/influence.py                                   # $UNDERTOW_SHARED_DATA/higgs/...
    python bench/influence.py --activity FILE --json [--split-days 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph import Edges, build_graph, score_influence  # noqa: E402

K = 100
HIGGS_KINDS = {"RT": "repost", "MT": "mention", "RE": "reply"}
#: Components that Higgs has data for (no follower counts, no sentiment).
COMPONENTS = ("amplification", "unique_amplifiers", "reach", "pagerank", "kcore")


def shared_data() -> Path:
    default = ROOT / ".." / "shared" / "data"
    return Path(os.environ.get("UNDERTOW_SHARED_DATA", default)).resolve()


def load_activity(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        sep=" ",
        header=None,
        names=["a", "b", "ts", "type"],
        dtype={"a": np.int64, "b": np.int64, "ts": np.int64, "type": str},
    )
    unknown = set(frame["type"].unique()) - set(HIGGS_KINDS)
    if unknown:
        raise SystemExit(f"{path}: unknown event types {sorted(unknown)}; expected RT, MT, RE")
    return frame


def evaluate(score: np.ndarray, truth: np.ndarray, tiebreak: np.ndarray) -> dict[str, float]:
    """Spearman, precision@K and NDCG@K of `score` against `truth` (aligned arrays of users)."""
    top = np.lexsort((tiebreak, -score))[:K]
    best = np.lexsort((tiebreak, -truth))[:K]
    discount = 1.0 / np.log2(np.arange(2, K + 2))
    return {
        "spearman": round(float(spearmanr(score, truth).statistic), 4),
        "precision_at_100": round(len(np.intersect1d(top, best)) / K, 4),
        "ndcg_at_100": round(
            float((truth[top] * discount).sum() / (truth[best] * discount).sum()), 4
        ),
    }


def run(path: Path, split_days: float) -> tuple[dict, dict]:
    started = time.perf_counter()
    frame = load_activity(path)
    a, b, ts = frame["a"].to_numpy(), frame["b"].to_numpy(), frame["ts"].to_numpy()
    kinds = frame["type"].map(HIGGS_KINDS).to_numpy()
    split = ts.min() + split_days * 86400
    past, retweet = ts < split, frame["type"].to_numpy() == "RT"
    users = np.unique(np.concatenate([a, b]))
    index = {"a": np.searchsorted(users, a), "b": np.searchsorted(users, b)}

    def counts(which: str, mask: np.ndarray) -> np.ndarray:
        return np.bincount(index[which][mask], minlength=len(users)).astype(float)

    rank_started = time.perf_counter()
    edges = Edges.from_arrays(a[past], b[past], kinds[past], ts[past])
    graph = build_graph(edges, now=float(split))
    scores = score_influence(graph)
    rank_seconds = time.perf_counter() - rank_started

    def aligned(values: np.ndarray) -> np.ndarray:
        out = np.zeros(len(users))
        out[np.searchsorted(users, scores.ids)] = values
        return out

    rankings = {
        "undertow": aligned(scores.influence),
        "past_retweets": counts("b", past & retweet),
        "in_degree": counts("b", past),
        "posts": counts("a", past),
    }
    for name in COMPONENTS:
        rankings[name] = aligned(scores.components[name])
    truth = counts("b", ~past & retweet)
    tiebreak = np.random.default_rng(0).permutation(len(users))
    results = {name: evaluate(score, truth, tiebreak) for name, score in rankings.items()}
    report = {
        "rankings": results,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    details = {
        "events_before": int(past.sum()),
        "events_after": int((~past).sum()),
        "users": len(users),
        "rank_seconds": round(rank_seconds, 2),
        "graph_nodes": graph.n_nodes,
        "graph_arcs": graph.n_arcs,
    }
    return report, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--activity", type=Path, default=shared_data() / "higgs" / "higgs-activity_time.txt.gz"
    )
    parser.add_argument("--split-days", type=float, default=3.0)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if not args.activity.is_file():
        raise SystemExit(f"{args.activity} not found: pass --activity or set UNDERTOW_SHARED_DATA")
    report, details = run(args.activity, args.split_days)
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"Higgs activity {args.activity.name}: {details['users']:,} users; "
        f"{details['events_before']:,} events before the {args.split_days:g}-day split, "
        f"{details['events_after']:,} after"
    )
    print(
        f"Ranked {details['graph_nodes']:,} authors ({details['graph_arcs']:,} arcs) "
        f"in {details['rank_seconds']:.2f} s"
    )
    print(f"{'ranking':<20}{'spearman':>10}{'P@100':>8}{'NDCG@100':>10}")
    for name, r in report["rankings"].items():
        print(
            f"{name:<20}{r['spearman']:>10.4f}{r['precision_at_100']:>8.2f}"
            f"{r['ndcg_at_100']:>10.3f}"
        )
    print(f"Done in {report['seconds']:.1f} s, peak memory {report['peak_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
