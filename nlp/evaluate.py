"""Evaluate a sentiment model on a labelled split: ``python -m nlp.evaluate``
(``undertow nlp evaluate`` calls it).

Without ``--data`` it reads the documented held-out splits of :mod:`nlp.data` from the shared data
folder; with ``--data`` any CSV with ``text`` and ``label`` (negative/neutral/positive) columns.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nlp.data import Example, load_splits, read_labelled_csv
from nlp.metrics import classification_report
from nlp.scorer import SentimentScorer

__all__ = ["SPLITS", "evaluate", "load_examples", "render_report"]

SPLITS = ("airline-test", "airline-dev", "semeval-dev")


def load_examples(data: Path | None, split: str, shared: Path, limit: int | None) -> list[Example]:
    """The examples to evaluate on: a CSV if given, else a documented split of the shared data."""
    if data is not None:
        examples = read_labelled_csv(data)
    else:
        examples = getattr(load_splits(shared), split.replace("-", "_"))
    return examples[:limit] if limit else examples


def evaluate(predict: Callable[[Sequence[str]], list[str]], examples: Sequence[Example]) -> dict:
    """Metrics of ``predict`` on ``examples`` plus its throughput over the whole call."""
    texts = [e.text for e in examples]
    began = time.perf_counter()
    predicted = predict(texts)
    seconds = time.perf_counter() - began
    report = classification_report([e.label for e in examples], predicted)
    report["posts_per_s"] = len(texts) / seconds if seconds > 0 else None
    return report


def render_report(name: str, report: dict) -> str:
    """A few lines a person can read: the headline metrics and the confusion matrix."""
    labels = report["confusion"]["labels"]
    speed = report.get("posts_per_s")
    lines = [
        f"{name}: n={report['n']:,}  accuracy={report['accuracy']:.3f}  "
        f"macro-F1={report['macro_f1']:.3f}  macro-recall={report['macro_recall']:.3f}  "
        + (f"{speed:,.0f} posts/s" if speed else ""),
        "  true \\ predicted " + " ".join(f"{label:>9}" for label in labels),
    ]
    for label, row in zip(labels, report["confusion"]["matrix"], strict=True):
        lines.append(f"  {label:>17} " + " ".join(f"{v:>9,}" for v in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from nlp.data import default_shared_data

    parser = argparse.ArgumentParser(
        prog="python -m nlp.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--model", default=None, help="Hugging Face id or folder (default: the shipped model)"
    )
    parser.add_argument("--data", type=Path, default=None, help="CSV with text,label columns")
    parser.add_argument("--split", choices=SPLITS, default="airline-test")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="shared data folder (default: $UNDERTOW_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--int8", action="store_true", help="torch dynamic int8 quantisation")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    shared = args.data_dir or default_shared_data()
    if args.data is None and not (shared / "airline" / "Tweets.csv").is_file():
        parser.error(f"no shared data under {shared}: set UNDERTOW_SHARED_DATA or pass --data")
    examples = load_examples(args.data, args.split, shared, args.limit)
    scorer = SentimentScorer(args.model, args.batch_size, args.threads, args.int8)
    report = evaluate(lambda texts: [s.label for s in scorer.score(texts)], examples)
    report["model_version"] = scorer.model_version
    report["data"] = str(args.data) if args.data else args.split
    if args.json:
        print(json.dumps(report))
    else:
        print(render_report(f"{scorer.model_version} on {report['data']}", report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
