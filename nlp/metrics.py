"""Classification metrics for three-way sentiment, without a scikit-learn dependency."""

from __future__ import annotations

from collections.abc import Sequence

from nlp.labels import LABELS

__all__ = ["classification_report"]


def classification_report(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = LABELS
) -> dict:
    """n, accuracy, macro-F1, macro-averaged recall (the TweetEval sentiment metric), per-class
    recall and the confusion matrix (rows: true label, columns: predicted, in ``labels`` order)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t]][index[p]] += 1
    n = len(truth)
    recalls, f1s = [], []
    for i in range(len(labels)):
        tp = confusion[i][i]
        actual = sum(confusion[i])
        claimed = sum(row[i] for row in confusion)
        recall = tp / actual if actual else 0.0
        precision = tp / claimed if claimed else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {
        "n": n,
        "accuracy": sum(confusion[i][i] for i in range(len(labels))) / n if n else 0.0,
        "macro_f1": sum(f1s) / len(f1s),
        "macro_recall": sum(recalls) / len(recalls),
        "recall": dict(zip(labels, recalls, strict=True)),
        "confusion": {"labels": list(labels), "matrix": confusion},
    }
