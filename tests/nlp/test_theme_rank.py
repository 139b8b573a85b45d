from datetime import date, timedelta

from nlp.theme_rank import rank

TODAY = date(2026, 3, 10)


def day(n):
    return TODAY - timedelta(days=n)


def test_a_theme_that_grows_today_ranks_first_and_is_emerging():
    rows = [(1, day(d), a, 100) for d in range(1, 8) for a in range(10)]  # flat: 10 a day
    rows += [(2, day(d), 100 + d, 100) for d in range(1, 8)]  # 1 a day ...
    rows += [(2, TODAY, 200 + a, 5000) for a in range(30)]  # ... then 30 today, big accounts
    rows += [(1, TODAY, a, 100) for a in range(10)]
    ranked = rank(rows, {day(d): 100 for d in range(8)}, TODAY)
    assert [s.theme for s in ranked] == [2, 1]
    assert ranked[0].emerging and not ranked[1].emerging
    assert ranked[0].growth > 10 and 0.9 < ranked[1].growth < 1.1
    assert ranked[1].daily == [10] * 8 and ranked[0].daily == [1] * 7 + [30]
    assert abs(sum(s.share for s in ranked) - 1) < 1e-9


def test_reach_counts_each_author_once_and_negative_share_uses_the_days_posts():
    rows = [(1, TODAY, 7, 1000), (1, TODAY, 7, 1000), (1, TODAY, 8, 10)]
    (stats,) = rank(rows, {TODAY: 30}, TODAY)
    assert stats.reach == 1010 and stats.posts == 3 and stats.negative_share == 0.1


def test_a_new_theme_is_emerging_only_with_enough_posts():
    few = rank([(5, TODAY, 1, 0)] * 2, {}, TODAY, new_themes=[5])
    many = rank([(5, TODAY, a, 0) for a in range(6)], {}, TODAY, new_themes=[5])
    assert not few[0].emerging and many[0].emerging
