"""Float32 CPU inference through oneDNN's matrix multiply instead of MKL's.

PyTorch's CPU wheels send a float32 ``nn.Linear`` to Intel MKL's SGEMM. On a CPU that is not
Intel's, MKL runs a generic code path (``MKL_VERBOSE=1`` names only "Intel(R) 64 architecture
processors", no vector extension), while oneDNN, which ships inside the same wheel, dispatches
on the instruction set itself (``ONEDNN_VERBOSE=1``: ``brg_matmul:avx512_core`` on the AMD EPYC
this project runs on). The linear layers are most of the sentiment model's time, so they go
through ``torch.ops.mkldnn._linear_pointwise`` (the kernel PyTorch's own compiler emits for CPU
linear layers). Two fusions a BERT layer allows save passes over its activations: the GELU
applied as the intermediate matmul writes its output, and the residual added as each output
matmul writes its own (about a tenth of the gain). ``bench/scorer_speed.py`` measures the whole
against the MKL path in one run: 1.46-1.77x less CPU time per post on 2026-12-03; the MKL
path's speed is erratic (40-80 posts/s in processes that load only it, up to 150 beside a warmed
oneDNN scorer), the oneDNN path's is not (docs/engagement.md#speed).

The arithmetic is still float32; only the summation order inside the matmul changes, so
probabilities move by about 1e-6 and labels stay the same (``tests/nlp/test_cpu_inference.py``
checks real posts). Weights are shared with the original modules, not copied. Where the op is missing
or disagrees with the module it replaces on a probe input, the model is left as it was.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["OneDnnLinear", "ResidualOutput", "available", "for_cpu_inference"]

# Largest difference from nn.Linear accepted on the probe: float32 rounding, not a wrong kernel.
_PROBE_TOLERANCE = 1e-4


def available() -> bool:
    """Whether this torch build has oneDNN and its fused linear op."""
    return bool(torch.backends.mkldnn.is_available()) and hasattr(
        torch.ops.mkldnn, "_linear_pointwise"
    )


class OneDnnLinear(nn.Module):
    """``nn.Linear`` (optionally followed by exact GELU) computed by oneDNN; inference only."""

    def __init__(self, linear: nn.Linear, gelu: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight  # shared, not copied
        self.bias = linear.bias
        self.gelu = gelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attr, algorithm = ("gelu", "none") if self.gelu else ("none", "")
        return torch.ops.mkldnn._linear_pointwise(
            x, self.weight, self.bias, attr, [], algorithm
        )

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, gelu={self.gelu}"


class _Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _is_exact_gelu(act: object) -> bool:
    """HF's GELUActivation (erf, not the tanh approximation) or nn.GELU('none')."""
    if isinstance(act, nn.GELU):
        return act.approximate == "none"
    return type(act).__name__ == "GELUActivation" and getattr(act, "act", None) is (
        nn.functional.gelu
    )


def _agrees(original: nn.Module, fast: nn.Module, *shapes: tuple[int, ...]) -> bool:
    """Whether ``fast`` gives what ``original`` gives on seeded random inputs of ``shapes``."""
    generator = torch.Generator().manual_seed(0)
    probe = [torch.randn(*shape, generator=generator) for shape in shapes]
    with torch.inference_mode():
        want = original(*probe)
        try:
            got = fast(*probe)
        except RuntimeError:
            return False
    return got.shape == want.shape and bool(
        (got - want).abs().max() <= _PROBE_TOLERANCE * (1 + want.abs().max())
    )


class _LinearGelu(nn.Module):
    """What the fused layer replaces, for the probe: the linear layer, then the activation."""

    def __init__(self, linear: nn.Module, act: nn.Module) -> None:
        super().__init__()
        self.linear, self.act = linear, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.linear(x))


class ResidualOutput(nn.Module):
    """BertSelfOutput / BertOutput at inference: LayerNorm(dense(h) + input), the add fused.

    oneDNN adds the residual as the matmul writes its result, saving a pass over the hidden
    state twice per layer (dropout is the identity at inference).
    """

    def __init__(self, dense: nn.Linear, layer_norm: nn.LayerNorm) -> None:
        super().__init__()
        self.weight, self.bias = dense.weight, dense.bias
        self.LayerNorm = layer_norm

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        summed = torch.ops.mkldnn._linear_pointwise.binary(
            hidden_states, input_tensor, self.weight, self.bias, "add"
        )
        return self.LayerNorm(summed)


def _eligible(module: nn.Module) -> bool:
    return (
        type(module) is nn.Linear
        and module.weight.dtype == torch.float32
        and module.weight.device.type == "cpu"
    )


def _residual_output(module: nn.Module) -> ResidualOutput | None:
    """The fused form of a BERT-style output block (dense, dropout, LayerNorm of the sum)."""
    dense, norm = getattr(module, "dense", None), getattr(module, "LayerNorm", None)
    if not (
        type(module).__name__.endswith("Output")
        and isinstance(getattr(module, "dropout", None), nn.Dropout)
        and dense is not None
        and _eligible(dense)
        and isinstance(norm, nn.LayerNorm)
    ):
        return None
    fast = ResidualOutput(dense, norm)
    shape = (2, 3, dense.in_features)
    residual = (2, 3, dense.out_features)
    return fast if _agrees(module.eval(), fast, shape, residual) else None


def for_cpu_inference(model: nn.Module) -> nn.Module:
    """Swap ``model``'s float32 CPU linear layers for oneDNN ones, in place; returns ``model``.

    Each swap is checked against the module it replaces on a probe input and skipped if they
    disagree. For training keep the original: the swapped layers have no backward pass worth
    using. Quantised layers (``int8``) are not ``nn.Linear`` and stay as they are.
    """
    if not available():
        return model
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            fused = _residual_output(child)
            if fused is not None:
                setattr(module, name, fused)
    for module in list(model.modules()):
        # BertIntermediate and its copies elsewhere in transformers: dense, then the activation.
        dense = getattr(module, "dense", None)
        act = getattr(module, "intermediate_act_fn", None)
        if dense is not None and _eligible(dense) and _is_exact_gelu(act):
            fast = OneDnnLinear(dense, gelu=True)
            if _agrees(_LinearGelu(dense, act), fast, (2, 3, dense.in_features)):
                module.dense, module.intermediate_act_fn = fast, _Identity()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if _eligible(child):
                fast = OneDnnLinear(child)
                if _agrees(child, fast, (2, 3, child.in_features)):
                    setattr(module, name, fast)
    return model
