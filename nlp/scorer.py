"""Sentiment scoring of social posts with the shipped model or any Hugging Face classifier.

Speed on a CPU comes from four things measured in ``bench/sentiment.py``: texts are sorted by
token length and padded per batch (padding is most of the work otherwise), gradients are off,
a model is loaded once per process however many scorers are made, and its float32 linear layers
run on oneDNN rather than MKL (``nlp.cpu_inference``: MKL's generic path on AMD CPUs was most of
the time).
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from nlp.cpu_inference import for_cpu_inference
from nlp.labels import LABELS, map_labels
from nlp.model import DEFAULT_MODEL_DIR, is_artefact, load_artefact
from nlp.normalise import normalise

__all__ = ["SentimentScore", "SentimentScorer"]


@dataclass(frozen=True)
class SentimentScore:
    """One post's sentiment: the most likely label and the three class probabilities."""

    label: str
    negative: float
    neutral: float
    positive: float


@dataclass(frozen=True)
class _Loaded:
    model: torch.nn.Module
    tokenizer: object
    order: tuple[int, ...]  # model output index -> index into LABELS
    max_length: int
    version: str
    hf: bool


def _file_digest(folder: Path) -> str | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return hashlib.sha256((folder / name).read_bytes()).hexdigest()[:12]
    return None


@functools.lru_cache(maxsize=4)
def _load(ref: str, int8: bool, onednn: bool = True) -> _Loaded:
    """Load a model once per process; scorers with the same model share it."""
    path = Path(ref)
    if is_artefact(path):
        model, tokenizer, meta, sha = load_artefact(path)
        order = tuple(LABELS.index(label) for label in meta.labels)
        version = f"{meta.name}@{sha[:12]}"
        max_length, hf = meta.max_length, False
    else:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(ref)
        model = AutoModelForSequenceClassification.from_pretrained(ref).eval()
        order = tuple(map_labels(model.config.id2label))
        revision = (
            _file_digest(path) if path.is_dir() else getattr(model.config, "_commit_hash", None)
        )
        version = f"{ref}@{revision or 'unknown'}"
        max_length = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
        hf = True
    if int8:
        with warnings.catch_warnings():  # torch's notice that the API will move, not our concern
            warnings.simplefilter("ignore", UserWarning)
            model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
        version += "+int8"
    # Same float32 arithmetic in another summation order (~1e-6): the version, the key of the
    # score cache, stays the same.
    if onednn:
        model = for_cpu_inference(model)
    return _Loaded(model, tokenizer, order, max_length, version, hf)


class SentimentScorer:
    """Scores texts as negative / neutral / positive.

    ``model`` is ``None`` for the shipped default (offline, on top of the pip-installed
    all-MiniLM-L6-v2), a Hugging Face sequence-classification id, or a local folder (either a
    Hugging Face model or an artefact written by ``undertow nlp train``). ``threads`` sets torch's
    intra-op threads for the whole process; on a machine shared with other busy processes, fewer
    threads than cores is often faster. ``int8`` applies torch dynamic quantisation to the linear
    layers. ``onednn=False`` keeps PyTorch's default (MKL) float32 matmul: the baseline that
    ``bench/scorer_speed.py`` and the tests compare against.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        batch_size: int = 64,
        threads: int | None = None,
        int8: bool = False,
        onednn: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if threads is not None:
            torch.set_num_threads(threads)
        self.batch_size = batch_size
        self._loaded = _load(str(model or DEFAULT_MODEL_DIR), int8, onednn)

    @property
    def model_version(self) -> str:
        """Model identity and version, stable across processes: cache key for stored scores."""
        return self._loaded.version

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """Scores in the order of ``texts``; independent of batch size and input order."""
        probs = self.probabilities(texts)
        return [
            SentimentScore(LABELS[int(row.argmax())], *(float(p) for p in row)) for row in probs
        ]

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """An (n, 3) tensor of negative / neutral / positive probabilities, in input order."""
        loaded = self._loaded
        if not texts:
            return torch.empty(0, len(LABELS))
        encoded = loaded.tokenizer(
            [normalise(t) for t in texts], truncation=True, max_length=loaded.max_length
        )
        ids = encoded["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = torch.empty(len(ids), len(LABELS))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                batch = loaded.tokenizer.pad(
                    {key: [encoded[key][i] for i in chunk] for key in encoded},
                    return_tensors="pt",
                )
                if loaded.hf:
                    logits = loaded.model(**batch).logits
                else:
                    logits = loaded.model(batch["input_ids"], batch["attention_mask"])
                probs = logits.float().softmax(-1)
                canonical = torch.empty_like(probs)
                canonical[:, list(loaded.order)] = probs
                out[chunk] = canonical
        return out
