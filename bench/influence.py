"""Does the influence rank predict who gets amplified next? Rolling origins on two real graphs.

For every origin ``d`` the data allows (Higgs: the end of each day but the last; Twitter15: each
decile of the event times), every ranking is computed on the events before ``d`` only, and scored
against the reposts each user receives after ``d``:

- precision@100: overlap of the ranking's top 100 with the 100 most reposted users, / 100;
- NDCG@100 with the future repost counts as gains;
- each with a 95% bootstrap interval (users resampled with replacement, ``--resamples`` draws,
  seeded; a user drawn twice fills two places in both lists).

Rankings, all in the same run: Undertow's shipped influence (``graph.influence.DEFAULT_WEIGHTS``,
its recency weighting chosen by ``graph.decay.choose_decay`` from the events before ``d``, as
``undertow rank`` chooses it), each component on its own, and the baselines past_retweets
(reposts received before ``d``), in_degree (interactions of any kind received before ``d``), posts
(posts authored before ``d``) and followers (reported as unknown: neither graph has follower
counts). Ties, in the rankings and in the truth, are broken by a seeded random order of users,
never by user id: Higgs ids are not random (small ids are the popular accounts), so an id
tie-break would leak the answer.

Every choice is walk-forward: made only on data strictly before the origin it is tested on.

- decay (shipped): ``choose_decay`` backtests on the events before ``d`` only;
- "learned" (a weight set among ``candidates()``) and "best_single" (one of ``SINGLES``):
  ``walk_forward`` scores each candidate at every earlier origin ``o_j < d``, ranked on the events
  before ``o_j``, against the reposts received in ``[o_j, d)``: the window stops at ``d``, so the
  choice never sees the period it is then scored on (last round's learned row counted reposts up
  to the end of the data at the earlier origins: that leak is gone). The first origin has no
  earlier one: no learned or best_single row there. ``tests/bench/test_influence_walk_forward.py``
  rewrites every event from ``d`` on and checks the choice does not move.

Beside each ranking's interval, ``shipped_minus_ci95`` is the paired bootstrap interval (same
resamples) of shipped minus that ranking: where it holds 0 the two are not separated.

    python bench/influence.py                        # both graphs, from $UNDERTOW_SHARED_DATA
    python bench/influence.py --data higgs --json --resamples 200
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# After ROOT, so `graph` is the package, not bench/graph.py.
sys.path.append(str(ROOT / "bench"))

from influence_data import higgs_path, load_higgs, load_twitter15, twitter15_path  # noqa: E402

from graph import Edges, build_graph, score_influence  # noqa: E402
from graph.decay import choose_decay  # noqa: E402
from graph.influence import DEFAULT_WEIGHTS, combine, ranking_basis  # noqa: E402

K = 100
#: Components both graphs have data for (no follower counts, no sentiment).
COMPONENTS = ("amplification", "unique_amplifiers", "reach", "pagerank", "kcore")
BASELINES = ("in_degree", "past_retweets", "posts")
METRICS = ("precision_at_100", "ndcg_at_100")
#: Fixed half-lives of the amplification component beside the shipped one, which
#: ``graph.decay.choose_decay`` picks at each origin from the events before it: 12 h is what was
#: shipped before; Higgs is a week-long burst, Twitter15 spans five years with months between
#: stories.
#: The single measures the walk-forward "best_single" row chooses among.
SINGLES = ("in_degree", "past_retweets", "posts", *COMPONENTS)
HALF_LIVES = {"12h": 12 * 3600.0, "2d": 2 * 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}


def candidates() -> dict[str, dict[str, float]]:
    """Weight sets the learned combination chooses among: amplification alone, and amplification
    plus one other component at a few weights (what the data could support beside it)."""
    out = {"amplification": {"amplification": 1.0}}
    for hl in HALF_LIVES:
        out[f"amplification@{hl}"] = {f"amplification@{hl}": 1.0}
        out[f"amplification@{hl}+unique_amplifiers"] = {
            f"amplification@{hl}": 1.0, "unique_amplifiers": 1.0}
    for other in COMPONENTS[1:]:
        for w in (0.05, 0.2, 0.5, 1.0):
            out[f"amplification+{w:g}*{other}"] = {"amplification": 1.0, other: w}
    out["shipped"] = dict(DEFAULT_WEIGHTS)
    return out


def origins(name: str, ts: np.ndarray) -> list[float]:
    if name == "higgs":
        start = float(ts.min())
        days = int((ts.max() - start) // 86400)
        return [start + d * 86400.0 for d in range(1, days + 1) if start + d * 86400 < ts.max()]
    return [float(t) for t in np.quantile(ts, np.arange(0.1, 1.0, 0.1))]


def top_k(order: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The top K slots of a ranking when each user fills ``weights`` slots (a bootstrap draw)."""
    return np.repeat(order, weights[order])[:K]


def metrics(
    top: np.ndarray, best: np.ndarray, truth: np.ndarray
) -> tuple[float, float]:
    discount = 1.0 / np.log2(np.arange(2, K + 2))
    ideal = float((truth[best] * discount[: len(best)]).sum())
    ndcg = float((truth[top] * discount[: len(top)]).sum()) / ideal if ideal else 0.0
    # Multiset overlap: a user drawn twice can match twice.
    values, counts = np.unique(top, return_counts=True)
    bvalues, bcounts = np.unique(best, return_counts=True)
    common, ia, ib = np.intersect1d(values, bvalues, return_indices=True)
    precision = float(np.minimum(counts[ia], bcounts[ib]).sum()) / K
    return precision, ndcg


def evaluate(
    rankings: dict[str, np.ndarray], truth: np.ndarray, resamples: int, seed: int
) -> dict[str, dict]:
    """Point figures and 95% bootstrap intervals of every ranking, on the same resamples."""
    n = len(truth)
    tiebreak = np.random.default_rng(seed).permutation(n)
    # A bootstrap draw keeps about 63% of users, so the top 100 of a draw lies in the top 600 of
    # all users in practice; 2,000 leaves a wide margin.
    pool = min(n, 2000)
    orders = {name: np.lexsort((tiebreak, -s))[:pool] for name, s in rankings.items()}
    best_order = np.lexsort((tiebreak, -truth))[:pool]
    point = {
        name: metrics(order[:K], best_order[:K], truth) for name, order in orders.items()
    }
    rng = np.random.default_rng(seed + 1)
    draws = {name: [] for name in rankings}
    for _ in range(resamples):
        w = rng.poisson(1.0, n) if n > 50_000 else np.bincount(rng.integers(0, n, n), minlength=n)
        best = top_k(best_order, w)
        for name, order in orders.items():
            draws[name].append(metrics(top_k(order, w), best, truth))
    out = {}
    arrays = {name: np.array(draws[name]) if resamples else np.zeros((0, 2)) for name in rankings}
    for name, d in arrays.items():
        out[name] = {
            metric: {
                "value": round(point[name][i], 4),
                "ci95": np.round(np.quantile(d[:, i], [0.025, 0.975]), 4).tolist()
                if resamples
                else None,
            }
            for i, metric in enumerate(METRICS)
        }
        if resamples and "shipped" in arrays and name != "shipped":
            # Paired: the same resamples for both, so the interval is that of the difference.
            diff = arrays["shipped"] - d
            for i, metric in enumerate(METRICS):
                out[name][metric]["shipped_minus_ci95"] = np.round(
                    np.quantile(diff[:, i], [0.025, 0.975]), 4).tolist()
    return out


def rankings_at(
    events: pd.DataFrame, posts: pd.DataFrame, users: np.ndarray, origin: float
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]], dict]:
    """Every baseline and component ranking on the events before ``origin``, aligned with users;
    and the components' ranking basis, for the candidate combinations."""
    past = events["ts"].to_numpy() < origin
    a, b = events["a"].to_numpy()[past], events["b"].to_numpy()[past]
    kinds, ts = events["kind"].to_numpy()[past], events["ts"].to_numpy()[past]
    started = time.perf_counter()
    # The shipped choice, as `undertow rank` makes it: from the events before the origin only.
    decay = choose_decay(b, ts, origin, source=a)
    decay_seconds = time.perf_counter() - started
    graph = build_graph(Edges.from_arrays(a, b, kinds, ts), now=origin,
                        half_life_s=decay.half_life_s, decay_floor=decay.floor)
    scores = score_influence(graph)
    seconds = time.perf_counter() - started
    where = np.searchsorted(users, scores.ids)

    def aligned(values: np.ndarray) -> np.ndarray:
        out = np.zeros(len(users))
        out[where] = np.nan_to_num(values)
        return out

    def received(mask: np.ndarray | None = None) -> np.ndarray:
        chosen = b if mask is None else b[mask]
        return np.bincount(np.searchsorted(users, chosen), minlength=len(users)).astype(float)

    authored = posts["author"].to_numpy()[posts["ts"].to_numpy() < origin]
    rankings = {
        "shipped": aligned(scores.influence),
        "in_degree": received(),
        "past_retweets": received(kinds == "repost"),
        "posts": np.bincount(np.searchsorted(users, authored), minlength=len(users)).astype(float),
    }
    for name in COMPONENTS:
        rankings[name] = aligned(scores.components[name])
    basis = {name: aligned(v) for name, v in ranking_basis(scores.components).items()}
    edges = Edges.from_arrays(a, b, kinds, ts)
    for hl, seconds_hl in HALF_LIVES.items():
        other = build_graph(edges, now=origin, half_life_s=seconds_hl)
        rankings[f"amplification@{hl}"] = basis[f"amplification@{hl}"] = aligned(other.received())
    details = {"events_before": int(past.sum()), "rank_seconds": round(seconds, 2),
               "decay": decay.as_dict(), "decay_seconds": round(decay_seconds, 2),
               "authors": graph.n_nodes}
    return rankings, basis, details


def tie_key(ids: np.ndarray, seed: int) -> np.ndarray:
    """A seeded pseudo-random sort key per user id (splitmix64): breaks ties at random, never by
    id, and, unlike a permutation of the run's user list, does not depend on which users exist
    (users first seen after an origin must not move a choice made at it)."""
    z = np.asarray(ids).astype(np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (seed + 1)) % 2**64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def top_known(scores: np.ndarray, key: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The K best of the users known at the origin (seen in an event or a post before it): a
    ranking made then cannot list anyone else."""
    pos = np.flatnonzero(known)
    return pos[np.lexsort((key[pos], -scores[pos]))][:K]


def window_truth(target: np.ndarray, ts: np.ndarray, reposts: np.ndarray, start: float,
                 end: float, n: int) -> np.ndarray:
    """Reposts each user (``target``: positions in the user list) received in ``[start, end)``."""
    m = reposts & (ts >= start) & (ts < end)
    return np.bincount(target[m], minlength=n).astype(float)


def walk_forward(
    history: list[dict], target: np.ndarray, ts: np.ndarray, reposts: np.ndarray, origin: float,
    n: int, pool: Mapping[str, Mapping[str, float]] | None = None,
) -> tuple[str | None, dict[str, float]]:
    """The candidate with the best mean P@100 + NDCG@100 over the origins before ``origin``.

    ``history`` holds, per earlier origin, its time, its tie-break key (``tie_key``) and each
    candidate's top K there (ranked on the events before that origin, among the users known
    then). Each earlier origin ``o_j`` is scored on the
    reposts received in ``[o_j, origin)`` only: the events from ``origin`` on are cut off before
    anything is counted, so nothing the choice is then tested on can move it. Ties go to the
    candidate with fewer components (``pool``'s weights), then the name. None with no earlier
    origin, or when no earlier window holds a repost.
    """
    before = ts < origin
    target, ts, reposts = target[before], ts[before], reposts[before]
    scores: dict[str, list[float]] = {}
    for h in history:
        if h["origin"] >= origin:
            raise ValueError("walk_forward got an origin that is not strictly earlier")
        truth = window_truth(target, ts, reposts, h["origin"], origin, n)
        if not truth.any():
            continue
        best = np.lexsort((h["tiebreak"], -truth))[:K]
        for name, top in h["tops"].items():
            scores.setdefault(name, []).append(sum(metrics(top, best, truth)))
    if not scores:
        return None, {}
    mean = {name: float(np.mean(v)) for name, v in scores.items()}
    size = (lambda c: len([w for w in pool[c].values() if w])) if pool else (lambda c: 1)
    chosen = min(mean, key=lambda c: (-round(mean[c], 9), size(c), c))
    return chosen, {c: round(v, 4) for c, v in mean.items()}


def run(name: str, events: pd.DataFrame, posts: pd.DataFrame, resamples: int) -> dict:
    started = time.perf_counter()
    users = np.unique(np.concatenate([events["a"], events["b"], posts["author"]]))
    n = len(users)
    ts = events["ts"].to_numpy()
    target = np.searchsorted(users, events["b"].to_numpy())
    source = np.searchsorted(users, events["a"].to_numpy())
    authors = np.searchsorted(users, posts["author"].to_numpy())
    posted = posts["ts"].to_numpy()
    reposts = events["kind"].to_numpy() == "repost"
    pool = candidates()
    results: list[dict] = []
    history: list[dict] = []  # per origin: its time, tie-break order, each candidate's top K
    for i, origin in enumerate(origins(name, ts)):
        rankings, basis, details = rankings_at(events, posts, users, origin)
        combos = {c: combine(basis, w)[0] for c, w in pool.items()}
        singles = {s: rankings[s] for s in SINGLES}
        truth = window_truth(target, ts, reposts, origin, np.inf, n)
        # Walk-forward: chosen on the origins before this one, each scored only on what happened
        # before this one; never on this origin or anything after it.
        learned, learned_scores = walk_forward(
            [{**h, "tops": h["combos"]} for h in history], target, ts, reposts, origin, n, pool)
        single, single_scores = walk_forward(
            [{**h, "tops": h["singles"]} for h in history], target, ts, reposts, origin, n)
        if learned:
            rankings["learned"] = combos[learned]
        if single:
            rankings["best_single"] = singles[single]
        scored = evaluate(rankings, truth, resamples, seed=i)
        key = tie_key(users, i)
        known = np.zeros(n, dtype=bool)
        known[target[ts < origin]] = True
        known[source[ts < origin]] = True
        known[authors[posted < origin]] = True
        history.append({
            "origin": origin, "tiebreak": key,
            "combos": {c: top_known(r, key, known) for c, r in combos.items()},
            "singles": {c: top_known(r, key, known) for c, r in singles.items()},
        })
        results.append({
            "origin": pd.Timestamp(origin, unit="s").isoformat(),
            "origin_ts": origin,
            "later": bool(i),
            "learned": learned,
            "learned_weights": pool[learned] if learned else None,
            "best_single": single,
            "walk_forward_scores": {"learned": learned_scores, "best_single": single_scores},
            "future_reposts": int(truth.sum()),
            **details,
            "rankings": scored,
        })
    return {
        "data": name,
        "users": n,
        "events": len(events),
        "followers": "unknown (no follower counts in this data)",
        "origins": results,
        "summary": summarise(results),
        "seconds": round(time.perf_counter() - started, 1),
    }


#: What the shipped score has to match or beat at every later origin (the issue's goal).
GOAL = ("in_degree", *[c for c in SINGLES if c != "in_degree"])


def compare(mine: dict, theirs: dict) -> str:
    """"above", "tie" or "below" on a point value, with "(within CI)" where the paired interval
    of the difference includes 0, i.e. the resamples do not separate the two."""
    if mine["value"] > theirs["value"]:
        word = "above"
    elif mine["value"] == theirs["value"]:
        return "tie"
    else:
        word = "below"
    ci = theirs.get("shipped_minus_ci95")
    return f"{word} (within CI)" if ci and ci[0] <= 0 <= ci[1] else word


def summarise(results: list[dict]) -> dict:
    """At the later origins: where shipped, learned and best_single trail another ranking.

    ``trails`` lists the goal's rankings (in-degree, past retweets, posts, each component) the row
    is below on a point value (the goal: none); for shipped, ``vs`` says above / tie / below per
    (origin, ranking, metric), "(within CI)" where the paired bootstrap interval of the difference
    holds 0. ``trails_fixed_half_life``: the amplification component at a fixed half-life (an
    oracle picking the best one afterwards would beat any rule chosen beforehand somewhere;
    reported, not the goal)."""
    later = [r for r in results if r["later"]]
    out = {}
    for who in ("shipped", "learned", "best_single"):
        worse, fixed = [], []
        for r in later:
            if who not in r["rankings"]:
                continue
            mine = r["rankings"][who]
            for other, theirs in r["rankings"].items():
                if other in ("shipped", "learned", "best_single"):
                    continue
                for m in METRICS:
                    if mine[m]["value"] < theirs[m]["value"]:
                        line = (f"{r['origin'][:16]} {m}: {other} "
                                f"{theirs[m]['value']} > {mine[m]['value']}")
                        (fixed if other.startswith("amplification@") else worse).append(line)
        out[who] = {"later_origins": len(later), "trails": worse,
                    "trails_fixed_half_life": fixed}
    out["shipped"]["vs"] = {
        r["origin"][:16]: {other: {m: compare(r["rankings"]["shipped"][m], r["rankings"][other][m])
                                   for m in METRICS} for other in GOAL}
        for r in later
    }
    out["shipped"]["origins_meeting_goal"] = sum(
        all("below" not in v for o in cells.values() for v in o.values())
        for cells in out["shipped"]["vs"].values())
    return out


def print_report(report: dict) -> None:
    print(f"{report['data']}: {report['users']:,} users, {report['events']:,} events; "
          f"followers: {report['followers']}")
    for r in report["origins"]:
        print(f"\norigin {r['origin'][:16]} ({r['events_before']:,} events before, "
              f"{r['future_reposts']:,} reposts after; ranked in {r['rank_seconds']:.1f} s)"
              + f"; shipped decay {r['decay']['label']}"
              + (f"; learned {r['learned']}" if r["learned"] else "")
              + (f"; best single {r['best_single']}" if r["best_single"] else ""))
        print(f"  {'ranking':<20}{'P@100':>7}{'95% CI':>15}{'NDCG@100':>10}{'95% CI':>15}")
        for name, m in r["rankings"].items():
            p, g = m["precision_at_100"], m["ndcg_at_100"]
            ci = lambda x: "" if x["ci95"] is None else f"{x['ci95'][0]:.2f}-{x['ci95'][1]:.2f}"  # noqa: E731
            print(f"  {name:<20}{p['value']:>7.2f}{ci(p):>15}{g['value']:>10.3f}{ci(g):>15}")
    for who, s in report["summary"].items():
        if "origins_meeting_goal" in s:
            print(f"\n{who}: at least every goal ranking on both metrics at "
                  f"{s['origins_meeting_goal']} of {s['later_origins']} later origins")
        print(f"\n{who}: trails a component or baseline in {len(s['trails'])} (origin, metric, "
              f"ranking) comparisons over {s['later_origins']} later origins")
        for line in s["trails"]:
            print(f"  {line}")
        print(f"{who}: trails a fixed half-life in {len(s['trails_fixed_half_life'])}")
        for line in s["trails_fixed_half_life"]:
            print(f"  {line}")
    print(f"{report['data']} done in {report['seconds']:.0f} s")


LABELS = {"in_degree": "in-degree", "past_retweets": "past retweets", "posts": "posts",
          "amplification": "amplification", "unique_amplifiers": "unique amplifiers",
          "reach": "reach", "pagerank": "PageRank", "kcore": "k-core"}
SHORT = {"precision_at_100": "P@100", "ndcg_at_100": "NDCG@100"}


def markdown(report: dict) -> str:
    """docs/influence.md's tables for one graph, from a ``--json`` report: per metric, one row per
    origin, shipped and every goal ranking with 95% intervals; ``=`` marks a tie with shipped,
    ``*`` a ranking above shipped that the paired interval does not separate from it, ``**``
    one above it that it does separate. Then the walk-forward rows and what they chose."""
    lines = []
    for m in METRICS:
        digits = 2 if m == "precision_at_100" else 3
        fmt = lambda x, d=digits: f"{x:.{d}f}"  # noqa: E731
        head = ["origin (events before)", "chosen decay", "shipped",
                *[LABELS[g] for g in GOAL]]
        lines += [f"**{SHORT[m]}**", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        for r in report["origins"]:
            ship = r["rankings"]["shipped"][m]
            cells = [f"{r['origin'][:10]} ({r['events_before']:,})", r["decay"]["label"],
                     f"{fmt(ship['value'])} [{fmt(ship['ci95'][0])}-{fmt(ship['ci95'][1])}]"
                     if ship["ci95"] else fmt(ship["value"])]
            for g in GOAL:
                x = r["rankings"][g][m]
                ci = f" [{fmt(x['ci95'][0])}-{fmt(x['ci95'][1])}]" if x["ci95"] else ""
                word = compare(ship, x)
                mark = ("=" if word == "tie" else "*" if word == "below (within CI)"
                        else "**" if word == "below" else "")
                cells.append(f"{fmt(x['value'])}{ci}{mark}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    head = ["origin", "learned (walk-forward)", "P@100 / NDCG@100", "best single (walk-forward)",
            "P@100 / NDCG@100"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["origins"]:
        if not r["later"]:
            continue
        cells = [r["origin"][:10]]
        for who in ("learned", "best_single"):
            x = r["rankings"].get(who)
            cells += [r[who] or "-", "-" if x is None else
                      f"{x['precision_at_100']['value']:.2f} / {x['ndcg_at_100']['value']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("higgs", "twitter15", "both"), default="both")
    parser.add_argument("--higgs", type=Path, default=higgs_path())
    parser.add_argument("--twitter15", type=Path, default=twitter15_path())
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--tables", type=Path, metavar="REPORT.json",
                        help="print docs/influence.md's tables from a saved --json report")
    args = parser.parse_args()
    if args.tables:
        for report in json.loads(args.tables.read_text())["reports"]:
            print(f"### {report['data']}\n\n{markdown(report)}")
        return
    started = time.perf_counter()
    reports = []
    for name, path, loader in (("higgs", args.higgs, load_higgs),
                               ("twitter15", args.twitter15, load_twitter15)):
        if args.data not in (name, "both"):
            continue
        if not path.exists():
            raise SystemExit(f"{path} not found: pass --{name} or set UNDERTOW_SHARED_DATA")
        events, posts = loader(path)
        reports.append(run(name, events, posts, args.resamples))
        if not args.json:
            print_report(reports[-1])
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        print(json.dumps({"reports": reports, "seconds": round(time.perf_counter() - started, 1),
                          "peak_mb": peak}))
    else:
        print(f"\nAll done in {time.perf_counter() - started:.0f} s, peak memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
