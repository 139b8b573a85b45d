"""Cascade growth signals: hand-checked features, forecast sanity, the fitted model file."""

from __future__ import annotations

import json
import math
import tarfile

import numpy as np
import pytest

from graph.cascades import (
    AGES_MIN,
    MODEL_PATH,
    TIMES_FEATURES,
    TREE_FEATURES,
    CascadeEvent,
    GrowthModel,
    cascade_fold,
    fit_growth_model,
    forecast_cascade,
    growth_features,
    influencer_involvement,
    load_model,
    model_features,
)


def events(*minutes: float, **kw) -> list[CascadeEvent]:
    return [CascadeEvent(m, **kw) for m in minutes]


def test_growth_features_by_hand():
    ev = [
        CascadeEvent(0.5, author=1, followers=100),
        CascadeEvent(1.0, author=2),
        CascadeEvent(1.5, author=1, followers=50),
        CascadeEvent(2.0, author=3),
        CascadeEvent(8.0, author=4),
        CascadeEvent(9.0, author=5),
        CascadeEvent(12.0, author=6),  # after the age: unseen
    ]
    g = growth_features(ev, 10)
    assert g.count == 6
    assert g.rate_per_min == pytest.approx(2 / 5)  # (5, 10]: 2 events over 5 minutes
    # last quarter (7.5, 10]: 2 events, the one before (5, 7.5]: none; quarter = 2.5 min
    assert g.acceleration == pytest.approx((2 - 0) / 2.5 / 2.5)
    assert g.last_half_share == pytest.approx(2 / 6)
    assert g.first_event_min == 0.5
    assert g.repeat_authors == 1
    assert (g.reach, g.reach_known) == (150, 2)


def test_model_features_counts_and_squares():
    x = model_features(events(-1, 1, 2, 3, 20), 4, tree=False)  # negative delay counts as 0
    assert len(x) == len(TIMES_FEATURES)
    half = len(x) // 2
    np.testing.assert_allclose(x[half:], x[:half] ** 2)
    assert x[0] == pytest.approx(math.log1p(4))  # four events by minute 4
    assert x[TIMES_FEATURES.index("log_n_last_1min")] == 0  # (3, 4]: none
    assert x[TIMES_FEATURES.index("log_n_last_2min")] == pytest.approx(math.log1p(1))
    assert x[TIMES_FEATURES.index("log_since_last")] == pytest.approx(math.log1p(1))
    assert x[TIMES_FEATURES.index("log_t5")] == pytest.approx(math.log1p(8))  # not reached: 2*age
    tree = model_features(
        [CascadeEvent(1, author=1, parent_minutes=0), CascadeEvent(2, author=1, parent_minutes=1)],
        4,
        tree=True,
    )
    assert len(tree) == len(TREE_FEATURES)
    assert tree[TREE_FEATURES.index("log_repeat_authors")] == pytest.approx(math.log1p(1))
    assert tree[TREE_FEATURES.index("log_latest_parent")] == pytest.approx(math.log1p(1))


def test_recency_and_secondary_spreading_by_hand():
    x = model_features(events(1, 3), 4, tree=False)
    memory = math.exp(-3 / 3) + math.exp(-1 / 3)  # elapsed 3 and 1 minutes, tau = 3
    assert x[TIMES_FEATURES.index("log_memory_3min")] == pytest.approx(math.log1p(memory))
    ev = [
        CascadeEvent(1, author=1, parent_minutes=0),
        CascadeEvent(2, author=2, parent_minutes=1),  # reactions to the reaction at minute 1
        CascadeEvent(3, author=3, parent_minutes=1),
        CascadeEvent(4, author=4, parent_minutes=2),
        CascadeEvent(9, author=5, parent_minutes=4),  # after the age: unseen
    ]
    tree = model_features(ev, 5, tree=True)
    assert tree[TREE_FEATURES.index("log_reactions_to_reactions")] == pytest.approx(math.log1p(3))
    assert tree[TREE_FEATURES.index("log_largest_subcascade")] == pytest.approx(math.log1p(2))


def test_forecast_is_consistent():
    slow = events(*np.linspace(1, 29, 40))
    fast = events(*np.linspace(1, 29, 400))
    fs, ff = forecast_cascade(slow, 30, 500), forecast_cascade(fast, 30, 500)
    assert fs.model == "times"
    for f, n in ((fs, 40), (ff, 400)):
        assert f.observed == n
        assert n <= f.low <= f.final <= f.high
        assert 0 <= f.p_viral <= 1
    assert ff.final > fs.final and ff.p_viral > fs.p_viral
    # A cascade that is already that big is viral for sure.
    assert forecast_cascade(fast, 30, 300).p_viral == 1.0


def test_interval_width_depends_on_the_cascade():
    m = load_model("tree")
    steady = [CascadeEvent(t, author=i, parent_minutes=0.0) for i, t in enumerate(range(1, 60))]
    late = [CascadeEvent(28 + i / 100, author=i, parent_minutes=0.0) for i in range(60)]
    width = {}
    for name, ev in (("steady", steady), ("late", late)):
        f = forecast_cascade(ev, 30, 500, m)
        assert f.low > f.observed  # not clamped: the width is the model's
        width[name] = math.log(f.high / f.low)
        sigma, q_low, q_high = m.params(30)[2:5]
        assert sigma * (q_high - q_low) / 2 - 1e-9 <= width[name]
        assert width[name] <= 2 * sigma * (q_high - q_low) + 1e-9
    assert width["steady"] != pytest.approx(width["late"])


def test_tree_model_is_used_when_structure_is_known():
    ev = [CascadeEvent(m, author=i, parent_minutes=0.0) for i, m in enumerate(range(1, 50))]
    assert forecast_cascade(ev, 60, 500).model == "tree"


def test_params_interpolate_in_log_age():
    m = load_model("times")
    c10, b10, *_ = m.params(10)
    c15, b15, *_ = m.params(15)
    i10 = list(m.ages).index(10)
    np.testing.assert_allclose(c10, m.coef[i10])
    c12, b12, *_ = m.params(12)
    w = (math.log(12) - math.log(10)) / (math.log(15) - math.log(10))
    assert b12 == pytest.approx(b10 * (1 - w) + b15 * w)
    np.testing.assert_allclose(m.params(0.1)[0], m.coef[0])  # clamped at the ends
    np.testing.assert_allclose(m.params(10_000)[0], m.coef[-1])


def test_committed_model_file():
    assert MODEL_PATH.stat().st_size < 1_000_000
    d = json.loads(MODEL_PATH.read_text())
    for variant, names in (("tree", TREE_FEATURES), ("times", TIMES_FEATURES)):
        assert d["variants"][variant]["full"]["features"] == names
        assert len(d["variants"][variant]["folds"]) == 5
        m = load_model(variant, fold=2)
        assert m.coef.shape == (len(AGES_MIN), len(names))
        assert m.var_coef.shape == (len(AGES_MIN), len(names) // 2)
        assert np.all(m.q_low < 0) and np.all(m.q_high > 0)


def test_fit_recovers_a_planted_relation():
    rng = np.random.default_rng(0)
    cascades = {}
    for i in range(200):
        size = int(rng.integers(20, 400))
        times = np.sort(rng.exponential(30, size))
        cascades[f"c{i}"] = [CascadeEvent(float(t)) for t in times]
    fitted = fit_growth_model(cascades, tree=False, ages=(10, 30), k=5)
    model = GrowthModel.from_dict("times", fitted["full"])
    big = forecast_cascade(events(*np.linspace(0, 29, 150)), 30, 100, model)
    small = forecast_cascade(events(*np.linspace(0, 29, 15)), 30, 100, model)
    assert big.final > 2 * small.final
    assert len(fitted["folds"]) == 5
    assert GrowthModel.from_dict("times", model.to_dict()).to_dict() == model.to_dict()


def test_cascade_fold_is_stable():
    folds = [cascade_fold(str(i)) for i in range(1000)]
    assert set(folds) == set(range(5))
    assert cascade_fold("693785810311778304") == cascade_fold("693785810311778304")
    assert abs(folds.count(0) - 200) < 50


def test_influencer_involvement_by_hand():
    ranks = {10: 1, 11: 50, 12: 500}
    posts = [("p1", 10, [11, 12, 11]), ("p2", 99, [12]), ("p3", 11, [11])]
    out = influencer_involvement(posts, ranks, top_n=100)
    assert [(v.post, v.author, v.rank, v.role) for v in out] == [
        ("p1", 10, 1, "author"),
        ("p1", 11, 50, "amplifier"),
        ("p3", 11, 50, "author"),
    ]
    assert influencer_involvement(posts, {}, top_n=100) == []


def test_bench_reads_a_tar_and_scores(tmp_path):
    from bench.cascades import evaluate, load_trees

    rng = np.random.default_rng(1)
    folder = tmp_path / "set" / "tree"
    folder.mkdir(parents=True)
    for i in range(40):
        size = int(rng.integers(20, 200))
        times = np.sort(rng.exponential(40, size)).round(2)
        lines = [f"['ROOT', 'ROOT', '0.0']->['1', '{i}', '0.0']"]
        lines += [f"['1', '{i}', '0.0']->['{j + 2}', '{i}{j}', '{t}']" for j, t in enumerate(times)]
        (folder / f"{i}.txt").write_text("\n".join(lines) + "\n")
    tar_path = tmp_path / "set.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(tmp_path / "set", arcname="set")
    trees = load_trees(tar_path)
    assert len(trees) == 40 and trees == load_trees(tmp_path / "set")
    res = evaluate(trees, 0.5)
    assert set(res["windows"]) == {"10", "30", "60"}
    r = res["windows"]["30"]
    assert set(r["undertow"]) == {"auc", "precision", "recall", "median_lead_min"}
    assert 0.5 < r["count_baseline"]["auc"] <= 1 and 0.5 < r["undertow"]["auc"] <= 1
    lo, hi = res["intervals"]["30"]["auc_ci95"]
    assert lo <= r["undertow"]["auc"] <= hi and hi - lo > 0
    g_lo, g_hi = res["intervals"]["30"]["gain_over_baseline_ci95"]
    assert g_lo <= r["undertow"]["auc"] - r["count_baseline"]["auc"] <= g_hi


def test_audience_history_counts_only_earlier_cascades_as_known_then():
    from bench.cascade_audience import audience_history, snowflake_minutes

    def tweet_id(minutes: float) -> str:  # a snowflake id posted at `minutes` since the epoch
        return str((int(minutes * 60000) - 1288834974657) << 22)

    t0 = 30_000_000.0  # minutes since the epoch, in 2027
    early, late = tweet_id(t0), tweet_id(t0 + 60)
    assert abs(snowflake_minutes(early) - t0) < 1e-3
    trees = {
        early: [CascadeEvent(minutes=m, author=a) for m, a in [(1, 7), (2, 8), (91, 9)]],
        late: [CascadeEvent(minutes=m, author=a) for m, a in [(1, 7), (5, 9), (40, 10)]],
    }
    known = dict(zip(sorted(trees), audience_history(trees, 30, "known"), strict=True))
    assert known[early].tolist() == [0.0, 0.0, 0.0]  # nothing came before it
    # 90 min after the early root its cascade had 2 reactions, one of them by author 7; author 9
    # joined it only at 91 min, after this forecast, so that is not known yet.
    per_author = (math.log1p(2) - math.log(200)) / 3
    assert known[late] == pytest.approx([per_author, 0.5, math.log1p(1)])
    quiet = dict(zip(sorted(trees), audience_history(trees, 30, "quiet"), strict=True))
    assert quiet[late].tolist() == [0.0, 0.0, 0.0]  # the early one is not quiet for 48 h yet
