"""The training recipe's settings, apart from the recipe.

Kept free of torch so that the command line can declare one option per setting without
loading torch for every `undertow` command (that import alone took seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nlp.bundled import DEFAULT_MODEL_DIR

__all__ = ["OPTION_HELP", "TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    out: Path = DEFAULT_MODEL_DIR
    num_layers: int = 4
    trained_layers: int = 4
    teacher_layers: int = 6
    teacher_epochs: float = 3.0
    epochs: float = 4.0
    batch_size: int = 32
    lr: float = 1e-4
    teacher_lr: float = 5e-5
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    distil_weight: float = 0.7
    temperature: float = 2.0
    max_length: int = 128
    weights_dtype: str = "int8"
    seed: int = 13
    device: str = "auto"
    threads: int = 2
    limit: int | None = None


# Command-line help for the TrainConfig fields a user may want to change.
OPTION_HELP = {
    "num_layers": "MiniLM layers the shipped student keeps (of 6); fewer is faster",
    "trained_layers": "top student layers fine-tuned; the rest stay as initialised",
    "teacher_layers": "layers of the teacher (0: no teacher, learn from labels only)",
    "teacher_epochs": "teacher's passes over the training data",
    "epochs": "student's passes over the training data (fractions allowed)",
    "batch_size": "examples per optimiser step",
    "lr": "peak learning rate of the student's layers",
    "teacher_lr": "peak learning rate of the teacher's layers",
    "head_lr": "peak learning rate of the linear heads",
    "distil_weight": "weight of the teacher's soft labels against the gold labels",
    "temperature": "softmax temperature of distillation",
    "seed": "seed of initialisation, shuffling and dropout",
    "threads": "torch CPU threads",
    "limit": "train on a seeded sample of this many tweets (smoke tests)",
}
