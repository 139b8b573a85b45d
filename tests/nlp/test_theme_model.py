"""Themes on texts whose groups are known: three complaints with their own words and vectors."""

import numpy as np
import pytest

from nlp.theme_model import clean, fit, labels_of, update

GROUPS = {
    "bag": ["lost my bag again", "my luggage never arrived", "bag missing at the carousel",
            "where is my luggage", "lost luggage no call back"],
    "hold": ["on hold for two hours", "hold music for an hour", "nobody answers the phone",
             "phone line on hold forever", "hours on hold with agents"],
    "refund": ["still waiting for my refund", "refund never came through", "charged twice no refund",
               "want my money back refund", "refund request ignored"],
    "app": ["the app keeps crashing", "app crashes on login", "login broken in the app",
            "app update crashing again", "cannot login app error"],
}


def corpus(groups, copies=6, seed=0, dim=16):
    fixed = np.random.default_rng(0)
    centres = {g: fixed.normal(size=dim) for g in GROUPS}
    rng = np.random.default_rng(seed)
    texts, truth, vectors = [], [], []
    for g in groups:
        for i in range(copies):
            for j, t in enumerate(GROUPS[g]):
                texts.append(f"@brand {t} #{seed}x{i} {j} http://x.co/{i}")
                truth.append(g)
                v = centres[g] + 0.3 * rng.normal(size=dim)
                vectors.append(v / np.linalg.norm(v))
    return texts, np.array(truth), np.array(vectors, dtype=np.float32)


def test_clean_strips_what_is_not_the_complaint():
    assert clean("RT @a: @United lost my bag http://t.co/x #fail", ["united"]) == "lost my bag fail"


def test_themes_recover_the_groups_and_are_named_by_their_words():
    from sklearn.metrics import adjusted_mutual_info_score

    texts, truth, vectors = corpus(["bag", "hold", "refund"])
    model = fit(texts, vectors, k=3)
    found = labels_of(model, texts, vectors)
    assert adjusted_mutual_info_score(truth, found) > 0.9
    names = " ".join(t.name for t in model.themes)
    assert "refund" in names and ("hold" in names or "phone" in names)
    assert "brand" not in names and "http" not in names
    assert all(len(t.examples) == 3 for t in model.themes)


def test_above_the_fit_sample_the_groups_are_still_found(monkeypatch):
    """Large stores learn from a sample and assign the rest: the groups must survive it."""
    from sklearn.metrics import adjusted_mutual_info_score

    from nlp import theme_model

    texts, truth, vectors = corpus(["bag", "hold", "refund", "app"], copies=20)
    monkeypatch.setattr(theme_model, "FIT_SAMPLE", 60)
    model = fit(texts, vectors, k=4)
    assert adjusted_mutual_info_score(truth, labels_of(model, texts, vectors)) > 0.9
    assert sum(t.size for t in model.themes) == len(set(clean(t).lower() for t in texts))


def test_fit_assign_says_what_labels_of_says(monkeypatch):
    from nlp import theme_model
    from nlp.theme_model import fit_assign

    texts, _, vectors = corpus(["bag", "hold", "refund", "app"], copies=8)
    for sample in (10_000, 50):  # whole, and learnt from a sample
        monkeypatch.setattr(theme_model, "FIT_SAMPLE", sample)
        model, labels = fit_assign(texts + texts[:5], np.vstack([vectors, vectors[:5]]))
        assert (labels == labels_of(model, texts + texts[:5],
                                    np.vstack([vectors, vectors[:5]]))).all()


def test_copies_count_once():
    texts, _, vectors = corpus(["bag", "hold", "refund"])
    doubled = fit(texts + texts, np.vstack([vectors, vectors]), k=3)
    once = fit(texts, vectors, k=3)
    assert [t.size for t in doubled.themes] == [t.size for t in once.themes]


def test_same_posts_give_the_same_themes():
    texts, _, vectors = corpus(["bag", "hold", "refund"])
    a, b = fit(texts, vectors), fit(texts, vectors)
    assert [t.name for t in a.themes] == [t.name for t in b.themes]
    assert (labels_of(a, texts, vectors) == labels_of(b, texts, vectors)).all()


def test_update_keeps_ids_and_adds_a_theme_only_for_new_data():
    texts, _, vectors = corpus(["bag", "hold", "refund"])
    model = fit(texts, vectors, k=3)
    before = labels_of(model, texts, vectors)
    extra, _, extra_vecs = corpus(["bag", "hold", "refund"], seed=1, copies=2)
    same, after = update(model, texts + extra, np.vstack([vectors, extra_vecs]), len(texts))
    assert len(same.themes) == 3
    assert [t.name for t in same.themes] == [t.name for t in model.themes]
    assert np.mean(after[: len(texts)] == before) >= 0.95
    new, new_vecs = corpus(["app"], seed=2, copies=14)[::2]
    grown, labels = update(model, texts + new, np.vstack([vectors, new_vecs]), len(texts))
    assert [t.id for t in grown.themes] == [1, 2, 3, 4]
    assert "app" in grown.themes[3].name
    assert set(labels[len(texts):]) - {1, 2, 3}
    assert np.mean(labels[: len(texts)] == before) >= 0.9


def test_too_few_posts_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 4 distinct posts"):
        fit(["a", "a", "b"], np.eye(3, dtype=np.float32))


@pytest.mark.slow
def test_the_shipped_encoder_loads_silently_and_gives_unit_vectors(capfd):
    from nlp.embed import Encoder

    vectors = Encoder().encode(["lost my bag again", "on hold for two hours", "lost my bag again"])
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # `listen --log-format json` must print JSON only
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2]) and vectors[0] @ vectors[1] < 0.9


def airline_corpus(shared_data, n, dim=24, seed=1):
    """Real airline complaints (their words drive the keyword half of the features) with seeded
    vectors near a per-reason centre (no encoder needed)."""
    import pandas as pd

    tweets = pd.read_csv(shared_data / "airline" / "Tweets.csv")
    neg = tweets[tweets.airline_sentiment == "negative"].drop_duplicates("text").head(n)
    rng = np.random.default_rng(seed)
    centres = {r: rng.normal(size=dim) for r in neg.negativereason.unique()}
    vecs = np.array([centres[r] + 0.8 * rng.normal(size=dim) for r in neg.negativereason])
    return neg.text.tolist(), (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(
        np.float32)


def test_assign_new_gives_the_new_posts_the_themes_update_gives_them(shared_data):
    """The incremental pass's step: new posts only, the old ones' features summed in the model,
    against `update` over old and new together. Copies of old posts count once in both."""
    from nlp.theme_model import assign_new, fit_assign

    texts, vectors = airline_corpus(shared_data, 2400)
    old, new = 2000, 2400
    model, _ = fit_assign(texts[:old], vectors[:old], ["united", "jetblue"])
    # A day's posts: 400 unseen ones, and copies (retweets) of 50 old ones.
    day = texts[old:new] + [f"RT @someone: {t}" for t in texts[:50]]
    day_vecs = np.vstack([vectors[old:new], vectors[:50]])
    full, labels = update(model, texts[:old] + day, np.vstack([vectors[:old], day_vecs]), old)
    assert len(full.themes) == len(model.themes)  # no theme added: the comparison is exact
    step, got = assign_new(model, day, day_vecs)
    assert np.array_equal(got.labels, labels[old:])
    assert got.fresh == 400 and got.far < 30
    assert np.allclose(step.centroids, full.centroids, atol=1e-12)
    assert [t.name for t in step.themes] == [t.name for t in full.themes]
    assert step.counts.sum() == model.counts.sum() + 400
    # Nothing new: the same themes again, nothing counted twice.
    again, second = assign_new(step, day, day_vecs)
    assert second.fresh == 0 and np.array_equal(again.counts, step.counts)


def test_assign_new_counts_what_the_add_rule_reads(shared_data):
    """Posts unlike every theme are counted `far`; the rule asks for a refit (via update)."""
    from nlp.theme_model import adds_themes, assign_new, fit_assign

    texts, vectors = airline_corpus(shared_data, 1200)
    model, _ = fit_assign(texts, vectors, ["united"])
    odd = [f"zebra quartz volcano saxophone {i} meteor glacier" for i in range(60)]
    rng = np.random.default_rng(5)
    centre = rng.normal(size=vectors.shape[1])
    odd_vecs = np.array([centre + 0.05 * rng.normal(size=len(centre)) for _ in odd])
    odd_vecs = (odd_vecs / np.linalg.norm(odd_vecs, axis=1, keepdims=True)).astype(np.float32)
    _, got = assign_new(model, odd, odd_vecs)
    assert got.fresh == 60 and adds_themes(got.far, got.fresh)
    refit, _ = update(model, texts + odd, np.vstack([vectors, odd_vecs]), len(texts))
    assert len(refit.themes) > len(model.themes)
