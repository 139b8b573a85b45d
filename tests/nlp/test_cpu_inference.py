"""The oneDNN inference path gives the MKL path's labels on real posts, and is really in use."""

from __future__ import annotations

import copy
import csv
import itertools
import json

import pytest
import torch
from torch import nn

from nlp import cpu_inference
from nlp.cpu_inference import OneDnnLinear, ResidualOutput, for_cpu_inference
from nlp.scorer import SentimentScorer

pytestmark = pytest.mark.skipif(not cpu_inference.available(), reason="torch without oneDNN")


def real_texts(shared, n: int = 200) -> list[str]:
    """Support-conversation turns (what bench/engagement.py scores) and airline tweets."""
    turns = [t["message"] for c in json.loads((shared / "support" / "dev.json").read_text())
             for t in c["dialogContent"]][:n]
    with (shared / "airline" / "Tweets.csv").open(encoding="utf-8") as f:
        tweets = [row["text"] for row in itertools.islice(csv.DictReader(f), n)]
    return turns + tweets


@pytest.mark.slow
def test_shipped_scorer_gives_the_mkl_paths_labels_on_real_posts(shared_data):
    texts = real_texts(shared_data)
    fast, plain = SentimentScorer(), SentimentScorer(onednn=False)
    assert fast.model_version == plain.model_version  # same model: the score cache stays valid
    a, b = fast.probabilities(texts), plain.probabilities(texts)
    assert torch.equal(a.argmax(1), b.argmax(1))
    assert float((a - b).abs().max()) < 1e-4  # float32 summation order, ~1e-6 measured
    # Not vacuous: all three labels occur, and the two scorers really run different kernels.
    assert set(a.argmax(1).tolist()) == {0, 1, 2}
    fast_kinds = {type(m) for m in fast._loaded.model.modules()}
    assert {OneDnnLinear, ResidualOutput} <= fast_kinds and nn.Linear not in fast_kinds
    assert nn.Linear in {type(m) for m in plain._loaded.model.modules()}


def test_linear_layers_are_swapped_and_compute_the_same():
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    x = torch.randn(5, 8)
    want = model(x)
    swapped = for_cpu_inference(copy.deepcopy(model))
    assert [type(m) for m in swapped] == [OneDnnLinear, nn.ReLU, OneDnnLinear]
    with torch.inference_mode():
        torch.testing.assert_close(swapped(x), want, atol=1e-5, rtol=0)


def test_the_probe_refuses_a_replacement_that_computes_something_else():
    first, other = nn.Linear(8, 4), nn.Linear(8, 4)
    assert cpu_inference._agrees(first, OneDnnLinear(first), (2, 3, 8))
    assert not cpu_inference._agrees(first, OneDnnLinear(other), (2, 3, 8))
    assert not cpu_inference._agrees(first, OneDnnLinear(nn.Linear(8, 5)), (2, 3, 8))


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch: quantisation API will move
def test_quantised_layers_are_left_alone():
    model = torch.ao.quantization.quantize_dynamic(
        nn.Sequential(nn.Linear(8, 4)), {nn.Linear}, dtype=torch.qint8)
    kinds = [type(m) for m in for_cpu_inference(model)]
    assert OneDnnLinear not in kinds


@pytest.mark.slow
def test_the_theme_encoder_runs_on_onednn_and_gives_the_same_vectors(shared_data):
    """Themes embed every negative post once; the encoder takes the same fast path as the
    scorer, and its vectors (the theme cache's content) are those of the plain model."""
    import numpy as np

    from nlp.embed import Encoder

    texts = real_texts(shared_data, 50)
    fast = Encoder()
    got = fast.encode(texts)
    kinds = {type(m) for m in fast._model.modules()}
    assert {OneDnnLinear, ResidualOutput} <= kinds and nn.Linear not in kinds
    plain = Encoder()
    plain._load()
    from transformers import AutoModel

    from nlp.model import encoder_dir

    plain._model = AutoModel.from_pretrained(encoder_dir()).eval()  # the MKL path
    want = plain.encode(texts)
    assert float(np.abs(got - want).max()) < 1e-5
    assert float((got * want).sum(1).min()) > 0.99999
