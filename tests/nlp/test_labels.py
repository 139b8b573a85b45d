"""Any model's id2label maps onto negative / neutral / positive, or fails loudly."""

import pytest

from nlp.labels import map_labels


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "negative", 1: "neutral", 2: "positive"}, [0, 1, 2]),
        ({"0": "NEG", "1": "NEU", "2": "POS"}, [0, 1, 2]),  # finiteautomata/bertweet style
        ({0: "Positive", 1: "Negative", 2: "Neutral"}, [2, 0, 1]),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, [0, 1, 2]),  # cardiffnlp's first model
        ({2: "positive", 0: "negative", 1: "neutral"}, [0, 1, 2]),  # key order does not matter
    ],
)
def test_map_labels(id2label, expected):
    assert map_labels(id2label) == expected


@pytest.mark.parametrize(
    "id2label",
    [
        {0: "joy", 1: "anger", 2: "sadness"},
        {0: "negative", 1: "positive"},
        {0: "negative", 1: "negative", 2: "positive"},
        {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_7"},
        {1: "negative", 2: "neutral", 3: "positive"},
    ],
)
def test_map_labels_rejects_other_schemes(id2label):
    with pytest.raises(ValueError):
        map_labels(id2label)
