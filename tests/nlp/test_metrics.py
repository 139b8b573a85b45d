"""Metrics checked against values worked out by hand."""

import pytest

from nlp.metrics import classification_report


def test_classification_report():
    truth = ["negative", "negative", "neutral", "positive", "positive", "positive"]
    predicted = ["negative", "neutral", "neutral", "positive", "positive", "negative"]
    report = classification_report(truth, predicted)
    assert report["n"] == 6
    assert report["accuracy"] == pytest.approx(4 / 6)
    # recalls: negative 1/2, neutral 1/1, positive 2/3
    assert report["macro_recall"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    # F1: negative p=1/2 r=1/2 -> 1/2; neutral p=1/2 r=1 -> 2/3; positive p=1 r=2/3 -> 4/5
    assert report["macro_f1"] == pytest.approx((1 / 2 + 2 / 3 + 4 / 5) / 3)
    assert report["confusion"]["matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_classification_report_checks_lengths():
    with pytest.raises(ValueError):
        classification_report(["negative"], [])
