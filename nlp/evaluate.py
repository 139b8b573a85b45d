"""Evaluate a sentiment model on a labelled split (``undertow nlp evaluate``, bench/sentiment.py).

Without ``--data`` it reads the documented held-out splits of :mod:`nlp.data` from the shared data
folder; with ``--data`` any CSV with ``text`` and ``label`` (negative/neutral/positive) columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nlp.data import Example, load_splits, read_labelled_csv
from nlp.metrics import classification_report

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
