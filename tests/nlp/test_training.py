"""The training recipe end to end on a tiny sample, and the artefact's int8 storage."""

import json

import pytest
import torch
from click.testing import CliRunner

from listener.cli import main
from nlp.model import _pack, _unpack, build_base, load_artefact
from nlp.scorer import SentimentScorer


def test_int8_storage_rounds_each_row_to_within_half_a_step():
    torch.manual_seed(0)
    state = {
        "bert.encoder.layer.0.output.dense.weight": torch.randn(8, 16) * 3,
        "bert.encoder.layer.0.output.dense.bias": torch.randn(8),
        "classifier.weight": torch.randn(3, 8),
    }
    packed = _pack(state, "int8")
    assert packed["bert.encoder.layer.0.output.dense.weight"].dtype == torch.int8
    # Vectors and the small head stay in fp16: quantising them saves nothing worth the error.
    assert packed["bert.encoder.layer.0.output.dense.bias"].dtype == torch.float16
    assert packed["classifier.weight"].dtype == torch.float16
    restored = _unpack(packed)
    assert set(restored) == set(state)
    weight = state["bert.encoder.layer.0.output.dense.weight"]
    step = packed["bert.encoder.layer.0.output.dense.weight.int8_scale"].float()
    error = (restored["bert.encoder.layer.0.output.dense.weight"] - weight).abs()
    assert bool((error <= step * 0.5 * (1 + 1e-6)).all())
    # Rows of tiny weights: the scale stays a normal fp16 number, so the error stays within
    # half of its smallest step (a subnormal scale would lose most of its precision).
    rows = torch.tensor([[3e-3, -1e-3, 2e-4, 0.0], [1e-6, 0.0, -1e-6, 5e-7]])
    tiny = _unpack(_pack({"m.weight": rows}, "int8"))["m.weight"]
    assert float((tiny - rows).abs().max()) <= 2.0**-15
    with pytest.raises(ValueError, match="fp16 or int8"):
        _pack(state, "int4")


@pytest.mark.slow
@pytest.mark.training
def test_train_writes_a_loadable_calibrated_student(tmp_path, shared_data):
    out = tmp_path / "tiny-sent"
    result = CliRunner().invoke(main, [
        "nlp", "train", "--data-dir", str(shared_data), "--out", str(out), "--limit", "96",
        "--teacher-layers", "2", "--teacher-epochs", "1", "--num-layers", "1",
        "--trained-layers", "1", "--epochs", "1", "--device", "cpu",
    ], catch_exceptions=False)
    assert result.exit_code == 0 and "Trained in" in result.output
    record = json.loads((out / "training.json").read_text())
    assert record["train_size"] == 96 and record["teacher_dev"] is not None
    assert set(record["calibration"]["offsets"]) == {"negative", "neutral", "positive"}
    model, _, meta, _ = load_artefact(out)
    assert (meta.num_layers, meta.weights_dtype) == (1, "int8")
    # The student's only layer was trained: it differs from the pretrained encoder's layer 0.
    base = build_base(1).state_dict()
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(model.state_dict()[key], base[key])
    scores = SentimentScorer(str(out)).score(["@united lost my bag again", "love this crew"])
    assert [s.label in ("negative", "neutral", "positive") for s in scores] == [True, True]
