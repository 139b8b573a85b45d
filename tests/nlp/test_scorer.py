"""Scoring with the shipped model and with any Hugging Face classifier folder."""

import re

import pytest
import torch

from nlp.labels import LABELS
from nlp.scorer import SentimentScorer

TEXTS = [
    "@united lost my bag AGAIN. worst airline ever, never flying with you again",
    "Thank you @JetBlue, the crew was amazing and we landed early! 😍",
    "Flight 123 to Boston boards at gate 5 at 3pm",
    "I absolutely love this new phone, best purchase this year",
    "so angry right now, cancelled flight and no help at all",
    "ok",
    "",
]


@pytest.fixture(scope="module")
def default_scorer():
    return SentimentScorer(batch_size=3)


@pytest.mark.slow
def test_default_model_scores_a_small_batch(default_scorer):
    scores = default_scorer.score(TEXTS)
    assert len(scores) == len(TEXTS)
    for s in scores:
        assert s.label in LABELS
        assert s.negative + s.neutral + s.positive == pytest.approx(1.0, abs=1e-5)
        assert s.label == max(LABELS, key=lambda name: getattr(s, name))
    assert [scores[i].label for i in (0, 1, 3, 4)] == [
        "negative",
        "positive",
        "positive",
        "negative",
    ]
    assert re.fullmatch(r"undertow-minilm-sent@[0-9a-f]{12}", default_scorer.model_version)
    assert default_scorer.score([]) == []


@pytest.mark.slow
def test_results_do_not_depend_on_batch_size_or_order(default_scorer):
    reference = default_scorer.probabilities(TEXTS)
    for batch_size in (1, 2, 64):
        again = SentimentScorer(batch_size=batch_size).probabilities(TEXTS)
        torch.testing.assert_close(again, reference, atol=1e-4, rtol=0)
    order = [3, 0, 6, 5, 1, 4, 2]
    shuffled = default_scorer.probabilities([TEXTS[i] for i in order])
    torch.testing.assert_close(shuffled, reference[order], atol=1e-4, rtol=0)


@pytest.mark.slow
def test_model_is_loaded_once_per_process(default_scorer):
    assert SentimentScorer()._loaded is default_scorer._loaded


@pytest.mark.slow
def test_hugging_face_folder_with_its_own_label_order(tmp_path):
    """A model whose config says POS/NEG/NEU gets its outputs put in our order."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from nlp.model import encoder_dir

    tokenizer = AutoTokenizer.from_pretrained(encoder_dir())
    id2label = {0: "POS", 1: "NEG", 2: "NEU"}
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)

    scorer = SentimentScorer(str(tmp_path))
    assert scorer.model_version.startswith(f"{tmp_path}@")
    probs = scorer.probabilities(["great flight"])
    with torch.inference_mode():
        raw = model(**tokenizer(["great flight"], return_tensors="pt")).logits.softmax(-1)
    # ours: negative, neutral, positive = theirs: NEG (1), NEU (2), POS (0)
    torch.testing.assert_close(probs, raw[:, [1, 2, 0]], atol=1e-5, rtol=0)
