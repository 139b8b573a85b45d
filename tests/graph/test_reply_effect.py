"""The reply-effect estimate recovers a known effect, finds none where there is none, and says
when it cannot tell; the queue's risk puts a spreading story ahead of a routine complaint."""

import random

from graph.conversations import ThreadPost, link
from graph.reply_effect import CAVEATS, reply_effect
from graph.triage import RiskInputs, risk

H = 3600.0


def simulated(p_answered: float, p_unanswered: float, n: int = 400, seed: int = 1):
    """Threads: a negative post, maybe a brand answer, then the customer's next post."""
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        t0 = rng.uniform(0, 5 * 24) * H
        neg = rng.uniform(0.6, 1.0)
        followers = int(10 ** rng.uniform(1, 4))
        answered = rng.random() < 0.5
        c1 = ThreadPost(f"c{i}", f"u{i}", t0, thread=f"t{i}", brands=("Acme",), negative=neg,
                        label="negative", followers=followers)
        posts.append(c1)
        if answered:
            posts.append(ThreadPost(f"b{i}", "acme", t0 + 600, f"c{i}", owner="Acme"))
        p_neg = p_answered if answered else p_unanswered
        label = "negative" if rng.random() < p_neg else "neutral"
        posts.append(ThreadPost(f"n{i}", f"u{i}", t0 + 1800, f"b{i}" if answered else f"c{i}",
                                thread=f"t{i}", brands=("Acme",), label=label))
    return link(posts)


def test_a_known_effect_is_recovered_within_its_interval():
    # Simulated: 30% of answered and 70% of unanswered customers write negatively next.
    e = reply_effect(simulated(0.3, 0.7, n=1000), replicates=300)["next_negative"]
    assert e.matched > 400 and e.controls > 400
    assert abs(e.estimate + 0.4) < 0.1  # about three standard errors at this size
    lo, hi = e.ci95
    assert lo < e.estimate < hi < 0 and 0.05 < hi - lo < 0.3


def test_no_effect_gives_an_interval_around_zero():
    e = reply_effect(simulated(0.5, 0.5, seed=2), replicates=300)["next_negative"]
    assert e.ci95[0] < 0 < e.ci95[1]


def test_too_few_comparable_posts_gives_no_number():
    e = reply_effect(simulated(0.3, 0.7, n=6), replicates=50)["next_negative"]
    assert e.estimate is None and e.ci95 is None and "too few" in e.note
    assert "confound" in CAVEATS.lower() or "tend to answer the easy ones" in CAVEATS


def test_windows_that_were_not_watched_are_left_out():
    conv = simulated(0.3, 0.7)
    horizon = max(p.post.at for p in conv.posts) + 25 * H
    watched = reply_effect(conv, observed_until=horizon, replicates=100)["again_negative"]
    unwatched = reply_effect(conv, observed_until=None, replicates=100)["again_negative"]
    assert watched.treated + watched.controls > 300
    assert unwatched.treated + unwatched.controls == 0 and unwatched.estimate is None


def test_risk_puts_a_spreading_story_ahead_of_a_routine_complaint():
    routine = risk(RiskInputs(followers=300, reactions=1, negative=0.95, age_hours=5))
    story = risk(RiskInputs(followers=300, reactions=40, p_viral=0.97, forecast_final=700,
                            negative=0.9, age_hours=1))
    big_author = risk(RiskInputs(followers=1_800_000, influence=80, influence_rank=3,
                                 negative=0.9, age_hours=1))
    assert story.score > routine.score and big_author.score > routine.score
    assert any("alert story" in r for r in story.reasons)
    assert all(0 <= v <= 1 for v in story.parts.values())
    stale = risk(RiskInputs(followers=300, negative=0.95, age_hours=24 * 10))
    assert stale.parts["waiting"] < routine.parts["waiting"]
