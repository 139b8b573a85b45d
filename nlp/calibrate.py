"""Dev-set calibration of the class biases: ``python -m nlp.calibrate [--model DIR]``.

The training mix does not match any one deployment's class balance (airline complaints are 63%
negative, general tweets 16%), and class-weighted training only partly corrects that. Two bias
offsets (neutral and positive, relative to negative) are chosen on the two dev splits together,
maximising the mean of airline macro-F1 and SemEval macro-recall, so neither domain alone decides.
The test split is never used. ``nlp.train`` runs this as its last step.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from nlp.labels import LABELS
from nlp.model import DEFAULT_MODEL_DIR, load_artefact, save_artefact

__all__ = ["apply_bias", "fit_bias", "score_offsets"]

GRID = torch.arange(-1.0, 1.0001, 0.05)


def _macro(pred: torch.Tensor, truth: torch.Tensor, metric: str) -> torch.Tensor:
    """Macro-F1 or macro-recall for many prediction rows at once: pred is (combos, n)."""
    scores = []
    for c in range(len(LABELS)):
        tp = ((pred == c) & (truth == c)).sum(-1).float()
        recall = tp / (truth == c).sum().clamp(min=1)
        if metric == "macro_recall":
            scores.append(recall)
        else:
            precision = tp / (pred == c).sum(-1).clamp(min=1)
            scores.append(2 * precision * recall / (precision + recall).clamp(min=1e-9))
    return torch.stack(scores).mean(0)


def score_offsets(
    sets: list[tuple[torch.Tensor, torch.Tensor, str]], offsets: torch.Tensor
) -> torch.Tensor:
    """Mean of the sets' metrics for each row of ``offsets`` (k, 3) added to the logits."""
    objective = torch.zeros(len(offsets))
    for logits, labels, metric in sets:
        pred = (logits.unsqueeze(0) + offsets.unsqueeze(1)).argmax(-1)
        objective += _macro(pred, labels, metric) / len(sets)
    return objective


def fit_bias(sets: list[tuple[torch.Tensor, torch.Tensor, str]]) -> tuple[torch.Tensor, float]:
    """Best (negative, neutral, positive) logit offsets for (logits, labels, metric) sets, by the
    mean of the sets' metrics over a 0.05 grid in [-1, 1]; returns (offsets, objective)."""
    neutral, positive = torch.meshgrid(GRID, GRID, indexing="ij")
    offsets = torch.stack([torch.zeros_like(neutral), neutral, positive], -1).reshape(-1, 3)
    objective = score_offsets(sets, offsets)
    # Ties go to the offset nearest zero: the least change that achieves the score.
    best = objective.max()
    tied = (objective >= best - 1e-9).nonzero().flatten()
    choice = tied[offsets[tied].abs().sum(-1).argmin()]
    return offsets[choice], float(best)


def apply_bias(model: torch.nn.Module, offsets: torch.Tensor) -> None:
    with torch.no_grad():
        model.classifier.bias += offsets.to(model.classifier.bias.dtype)


def main(argv: list[str] | None = None) -> int:
    from nlp.data import default_shared_data, load_splits
    from nlp.scorer import SentimentScorer

    parser = argparse.ArgumentParser(prog="python -m nlp.calibrate", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="artefact folder")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    splits = load_splits(default_shared_data())
    scorer = SentimentScorer(str(args.model), threads=args.threads)
    sets = []
    for examples, metric in (
        (splits.airline_dev, "macro_f1"),
        (splits.semeval_dev, "macro_recall"),
    ):
        logits = scorer.probabilities([e.text for e in examples]).log()
        labels = torch.tensor([LABELS.index(e.label) for e in examples])
        sets.append((logits, labels, metric))
    baseline = float(score_offsets(sets, torch.zeros(1, 3))[0])
    offsets, objective = fit_bias(sets)
    model, _, meta, _ = load_artefact(args.model)
    apply_bias(model, offsets)
    sha = save_artefact(model, args.model, meta)
    record = {
        "offsets": dict(zip(LABELS, offsets.tolist(), strict=True)),
        "dev_objective_before": baseline,
        "dev_objective_after": objective,
        "sha256": sha,
    }
    (args.model / "calibration.json").write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"Calibrated {args.model}: offsets {record['offsets']}, "
        f"dev objective {baseline:.4f} -> {objective:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
