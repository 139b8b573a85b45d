"""Fit graph/models/severity.json: P(a story reaches the big size) from what the detector knows.

Training stories come from replays of the airline tweets (real brand volume: its bursts are the
volume stories) with synthetic negative cascades injected as in bench/detect.py, but at seeds it
does not use (`--seeds`, default 101-104; bench/detect.py uses 7 for its injections and 8 for its
decoys) and with final sizes log-uniform over 5 to 2,000 reactions, so that stories on both sides
of the big size (`DetectorConfig.viral_size`, 100 posts) are there. Every update of a story below
the big size is one snapshot (graph.detector.story_features); its label is whether the story
ended at or above the big size; each story weighs 1 in total, however often it was updated.

A held-out check is printed (not used to fit): the airlines taken out one at a time, the model
fitted on the other five scores the sixth's snapshots; the reliability table compares predicted
and observed rates, and "held-out alerts" counts the stories of the clean replay (no injections)
that would reach the reporting level.

    python bench/fit_severity.py [--out graph/models/severity.json] [--seeds 101 102 103 104]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from detect import inject, load_tweets, shared_data  # noqa: E402

from graph.detector import Detector, DetectorConfig, story_features  # noqa: E402
from graph.levels import REPORT_FROM  # noqa: E402
from graph.severity import FEATURES, SeverityModel, fit_logistic  # noqa: E402

_FLAT = SeverityModel(np.zeros(len(FEATURES)), 0.0, np.zeros(len(FEATURES)),
                      np.ones(len(FEATURES)))  # severity is not an input of the detector


def snapshots(posts, ranks, config: DetectorConfig, run: str) -> list[dict]:
    """One row per story update below the big size, with the story's final size."""
    det = Detector(config, ranks=ranks, severity_model=_FLAT)
    rows, final = [], {}
    for p in posts:
        for s in det.process([p]):
            final[s.id] = s.post_count
            if s.post_count < config.viral_size and s.status == "active":
                rows.append({"story": f"{run}/{s.id}", "id": s.id, "brand": s.brand,
                             "x": story_features(s, config, s.updated_at)})
    for r in rows:
        r["big"] = final[r["id"]] >= config.viral_size
    return rows


def arrays(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([r["x"] for r in rows], dtype=float)
    y = np.array([r["big"] for r in rows], dtype=float)
    per_story: dict[str, int] = {}
    for r in rows:
        per_story[r["story"]] = per_story.get(r["story"], 0) + 1
    w = np.array([1 / per_story[r["story"]] for r in rows])
    return x, y, w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "graph" / "models" / "severity.json")
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104])
    ap.add_argument("--injections", type=int, default=60)
    ap.add_argument("--l2", type=float, default=1.0)
    args = ap.parse_args(argv)
    path = shared_data() / "airline" / "Tweets.csv"
    if not path.exists():
        raise SystemExit(f"{path} not found: set UNDERTOW_SHARED_DATA")
    config = DetectorConfig()
    posts = load_tweets(path)
    clean = snapshots(posts, {}, config, "clean")
    rows = list(clean)
    for seed in args.seeds:
        mixed, _, ranks = inject(posts, args.injections, seed, sizes=(5, 2000))
        rows += snapshots(mixed, ranks, config, f"seed{seed}")
    x, y, w = arrays(rows)
    model = fit_logistic(x, y, w, l2=args.l2)
    stories = len({r["story"] for r in rows})
    big = len({r["story"] for r in rows if r["big"]})
    args.out.write_text(json.dumps({
        "version": 1,
        "target": f"the story ends with >= viral_size ({config.viral_size:g}) posts",
        "fitted_on": {"tweets": path.name, "seeds": args.seeds, "injections": args.injections,
                      "sizes": [5, 2000], "stories": stories, "big_stories": big,
                      "snapshots": len(rows)},
        "method": f"logistic regression, L2 {args.l2:g} on standardised features, "
                  "each story weighted 1 over its snapshots",
        "features": list(FEATURES),
        "coef": np.round(model.coef, 6).tolist(), "intercept": round(model.intercept, 6),
        "mean": np.round(model.mean, 6).tolist(), "scale": np.round(model.scale, 6).tolist(),
    }, indent=1) + "\n")
    print(f"Fitted on {len(rows):,} snapshots of {stories:,} stories ({big:,} big): {args.out}")
    for name, c in zip(FEATURES, model.coef, strict=True):
        print(f"  {name:18s} {c:+.3f}")
    _held_out(rows, args.l2, len({r['brand'] for r in rows}), posts)
    return 0


def _held_out(rows: list[dict], l2: float, n_brands: int, posts) -> None:
    """Leave one airline out: calibration and clean-replay alerts of models that never saw it."""
    p = np.zeros(len(rows))
    brands = sorted({r["brand"] for r in rows})
    for b in brands:
        train = [r for r in rows if r["brand"] != b]
        idx = [i for i, r in enumerate(rows) if r["brand"] == b]
        m = fit_logistic(*arrays(train), l2=l2)
        for i in idx:
            p[i] = m.probability(rows[i]["x"])
    x, y, w = arrays(rows)
    print("Held out by airline: predicted vs observed P(big), snapshots weighted per story")
    for lo, hi in ((0, .1), (.1, .3), (.3, .5), (.5, .7), (.7, .9), (.9, 1.01)):
        sel = (p >= lo) & (p < hi)
        if sel.any():
            print(f"  {lo:.1f}-{min(hi, 1):.1f}: predicted {np.average(p[sel], weights=w[sel]):.3f}"
                  f", observed {np.average(y[sel], weights=w[sel]):.3f} ({w[sel].sum():.1f} stories)")
    days = (posts[-1].at - posts[0].at) / 86400
    for t in (0.5, 0.6, REPORT_FROM, 0.8, 0.9):
        alerted = {r["story"] for r, q in zip(rows, p, strict=True)
                   if r["story"].startswith("clean/") and q >= t}
        print(f"  clean replay, reporting from {t:.1f}: {len(alerted)} stories alert below the big "
              f"size = {len(alerted) / (n_brands * days):.3f} per brand per day (held out)")


if __name__ == "__main__":
    sys.exit(main())
