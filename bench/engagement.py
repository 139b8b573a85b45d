"""Service KPIs and the reply-effect estimate on real customer-care conversations.

IBM's Twitter support conversations (`support/dev.json` and `test.json`: 1,025 conversations of
25 companies' support accounts) go through Undertow as a user's data would: imported into a
fresh SQLite store, one brand per company (query `@Company`, own account `x:Company`), every
post scored by the bundled sentiment model, then the engagement job links answers and computes,
per company, the cases ("conversations": one customer's part of one thread), the response rate,
the median and 90th percentile first-response time and the share answered within an hour; and
the reply effect (`graph.reply_effect`): of negative posts the customer followed up, how much
less often the next post was negative when the brand had answered in between, matched on brand,
reach, negativity and time, with a 95% thread-bootstrap interval and the unmatched difference as
a baseline. The dataset was built backwards from agent replies that link a help page, so every
conversation ends at a brand answer and nothing after it was collected: the job is told so
(`threads_end_at_last_post`), and the outcomes that need a watched window say they cannot be
measured here.

    python bench/engagement.py [--json] [--replicates 1000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.reply_effect import CAVEATS  # noqa: E402
from listener.importers import import_file  # noqa: E402
from listener.jobs.engagement import effect, load, service  # noqa: E402
from listener.jobs.score import score_posts  # noqa: E402
from listener.store import Store  # noqa: E402

FILES = ("dev.json", "test.json")


def shared_data() -> Path:
    default = ROOT / ".." / "shared" / "data"
    return Path(os.environ.get("UNDERTOW_SHARED_DATA", default)).resolve()


def companies(folder: Path) -> list[str]:
    return sorted({c["dialogHeader"]["company"] for name in FILES
                   for c in json.loads((folder / name).read_text())})


def run(replicates: int, threads: int | None) -> dict:
    from nlp.scorer import SentimentScorer

    started = time.monotonic()
    folder = shared_data() / "support"
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        t = time.monotonic()
        for name in FILES:
            import_file(store, folder / name)
        for company in companies(folder):
            brand, _ = store.add_brand(company, f"@{company}")
            store.set_accounts(brand, [f"x:{company}"])
        timings["import_and_brands_s"] = time.monotonic() - t
        t = time.monotonic()
        scored = score_posts(store, SentimentScorer(threads=threads)).scored
        timings["scoring_s"] = time.monotonic() - t
        t = time.monotonic()
        e = load(store)
        kpis = service(store, engagement=e)
        effects = effect(store, engagement=e, threads_end_at_last_post=True,
                         replicates=replicates)
        timings["engagement_s"] = time.monotonic() - t
        store.close()
    headline = effects["next_negative"]
    return {
        "companies": {name: {
            "conversations": k.cases, "response_rate": _r(k.response_rate),
            "median_first_response_min": _r(k.median_first_response_min),
            "p90_first_response_min": _r(k.p90_first_response_min),
            "answered_within_1h": _r(k.answered_within_1h)}
            for name, k in kpis["brands"].items()},
        "reply_effect": {"estimate": headline.estimate,
                         "ci95": list(headline.ci95) if headline.ci95 else None,
                         "outcome": "next post negative (answered minus unanswered)",
                         "unmatched_difference": headline.unmatched,
                         "treated": headline.treated, "controls": headline.controls,
                         "matched": headline.matched, "note": headline.note,
                         "other_outcomes": {k: v.as_dict() for k, v in effects.items()
                                            if k != "next_negative"},
                         "caveats": CAVEATS},
        "posts_scored": scored,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "seconds": round(time.monotonic() - started, 2),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the model")
    args = parser.parse_args(argv)
    if not (shared_data() / "support").is_dir():
        print(f"No support data under {shared_data()} (set UNDERTOW_SHARED_DATA)", file=sys.stderr)
        return 1
    out = run(args.replicates, args.threads)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'company':<16} {'cases':>6} {'resp. rate':>10} {'median min':>11} {'p90 min':>9} "
          f"{'<=1 h':>6}")
    for name, k in out["companies"].items():
        def f(x, spec):
            return "-" if x is None else format(x, spec)
        print(f"{name:<16} {k['conversations']:>6} {f(k['response_rate'], '.1%'):>10} "
              f"{f(k['median_first_response_min'], ',.1f'):>11} "
              f"{f(k['p90_first_response_min'], ',.0f'):>9} {f(k['answered_within_1h'], '.0%'):>6}")
    r = out["reply_effect"]
    if r["estimate"] is None:
        print(f"\nReply effect: {r['note']}")
    else:
        print(f"\nReply effect ({r['outcome']}): {r['estimate']:+.3f} "
              f"(95% CI {r['ci95'][0]:+.3f} to {r['ci95'][1]:+.3f}; unmatched difference "
              f"{r['unmatched_difference']:+.3f}; {r['matched']} of {r['treated']} answered posts "
              f"matched, {r['controls']} unanswered)")
    for name, other in r["other_outcomes"].items():
        print(f"  {name}: " + (other["note"] or f"{other['estimate']:+.3f} {other['ci95']}"))
    print(f"\n{CAVEATS}")
    print(f"\n{out['posts_scored']:,} posts scored; {out['timings']}; total {out['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
