"""Sentence embeddings for themes: the shipped all-MiniLM-L6-v2, or any sentence-transformers model.

The shipped encoder is loaded with plain transformers from the folder its PyPI package installs
(mean pooling over tokens, unit length: what sentence-transformers does for this model), so no
hub download and no extra dependency. Another name goes to sentence-transformers, for users who
can download it. `static` (or `static:all-MiniLM-L6-v2`) is a static, model2vec-style encoder
distilled locally from the shipped model (`nlp/static_embed.py`): a table lookup and a mean, no
transformer at run time; an experiment for `bench/themes.py --encoder static`, not a setting
(docs/themes.md). Loading is quiet: `listen --log-format json` must print JSON only, and
transformers otherwise writes progress bars and load reports on stderr.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["DEFAULT_ENCODER", "STATIC_ENCODER", "Encoder", "encoder_name", "load_encoder"]

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
STATIC_ENCODER = f"static:{DEFAULT_ENCODER}"
BATCH = 128
MAX_TOKENS = 64  # posts are short; the longest tweets are about 60 word pieces


@contextlib.contextmanager
def _quiet():
    """Silence transformers' loggers and progress bars, and anything printed while loading."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    old = logging.getLogger("sentence_transformers").level
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()
        logging.getLogger("sentence_transformers").setLevel(old)


class Encoder:
    """Texts -> unit-length float32 vectors. `name` says which model made them (cache key)."""

    def __init__(self, name: str = DEFAULT_ENCODER) -> None:
        self.name = name
        self._model = None
        self._tokenizer = None
        self._st = None

    def _load(self) -> None:
        if self._model is not None or self._st is not None:
            return
        with _quiet():
            if self.name in (DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"):
                from transformers import AutoModel, AutoTokenizer

                from nlp.model import encoder_dir

                folder = encoder_dir()
                self._tokenizer = AutoTokenizer.from_pretrained(folder)
                from nlp.cpu_inference import for_cpu_inference

                # oneDNN's float32 matmuls: twice MKL's speed on this project's CPUs, the same
                # vectors to 1e-6 (nlp/cpu_inference.py checks every swapped layer).
                self._model = for_cpu_inference(AutoModel.from_pretrained(folder).eval())
            else:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise RuntimeError(
                        f"embedding model {self.name!r} needs sentence-transformers: "
                        "pip install sentence-transformers") from exc
                self._st = SentenceTransformer(self.name)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._st is not None:
            out = self._st.encode(list(texts), batch_size=BATCH, normalize_embeddings=True,
                                  show_progress_bar=False)
            return np.asarray(out, dtype=np.float32)
        import torch

        parts = []
        # Sorting by length keeps padding (the wasted work) small inside each batch.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH):
                batch = [texts[i] for i in order[start:start + BATCH]]
                enc = self._tokenizer(batch, padding=True, truncation=True,
                                      max_length=MAX_TOKENS, return_tensors="pt")
                hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                parts.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        out[order] = np.concatenate(parts)
        return out

    @property
    def dim(self) -> int:
        self._load()
        if self._st is not None:
            return int(self._st.get_sentence_embedding_dimension())
        return int(self._model.config.hidden_size)


def encoder_name(name: str | None) -> str:
    """The canonical name of an encoder asked for (`bench/themes.py --encoder`; not a setting:
    the static one stays an experiment): empty -> the default, `static` ->
    `static:all-MiniLM-L6-v2`."""
    name = (name or "").strip() or DEFAULT_ENCODER
    return STATIC_ENCODER if name == "static" else name


@lru_cache(maxsize=4)
def _load(name: str):
    if name.startswith("static:"):
        from nlp.static_embed import StaticEncoder

        return StaticEncoder(name)
    return Encoder(name)


def load_encoder(name: str | None = DEFAULT_ENCODER):
    """One encoder per name per process: loading costs about a second. A `static:` name gives a
    `nlp.static_embed.StaticEncoder` (same `name`, `encode` and `dim`)."""
    return _load(encoder_name(name))
