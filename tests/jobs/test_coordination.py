"""The coordination stage on both dialects: a lock-step group is flagged and its share of an
alert's reposts appears in the alert evidence."""

from datetime import timedelta

from sqlalchemy import insert

from listener.jobs.coordination import flag, flagged_clusters, story_coordination
from listener.jobs.detect import detect
from listener.post import Author, Batch, Interaction, Post, stable_id
from listener.store import schema
from listener.store.alerts import list_alerts
from tests.jobs.test_detect import ROOT, T0

GROUP = [f"bot{i}" for i in range(5)]


def lock_step_history(store):
    """The group reposts six earlier posts within seconds of each other; organic fans repost
    the same posts hours apart."""
    b = Batch(authors=[Author("x", "news", handle="news")])
    for k in range(6):
        at = T0 - timedelta(days=3) + timedelta(hours=5 * k)
        b.posts.append(Post("x", f"story{k}", "news", f"story {k}", at))
        for j, bot in enumerate(GROUP):
            when = at + timedelta(seconds=3 * j)
            b.interactions.append(Interaction("x", "repost", bot, "news", when, None,
                                              f"story{k}"))
        for j in range(5):
            when = at + timedelta(hours=1 + j)
            b.interactions.append(Interaction("x", "repost", f"fan{k}_{j}", "news", when, None,
                                              f"story{k}"))
    store.write(b)


def pushed_complaint(store):
    """A negative post reposted by the group and by 40 organic accounts."""
    b = Batch(authors=[Author("x", "critic", handle="critic", followers=300)])
    b.posts.append(Post("x", "root", "critic", ROOT, T0))
    reposters = GROUP + [f"person{i}" for i in range(40)]
    for i, who in enumerate(reposters):
        at = T0 + timedelta(seconds=20 * (i + 1))
        b.posts.append(Post("x", f"rt{i}", who, f"RT @critic: {ROOT}", at,
                            parent_native_id="root"))
        b.interactions.append(Interaction("x", "repost", who, "critic", at, f"rt{i}", "root"))
    store.write(b)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": p.id, "model_version": "test@1", "label": "negative", "negative": 0.9,
             "neutral": 0.05, "positive": 0.05, "scored_at": T0} for p in b.posts])


def test_a_lock_step_group_is_flagged_and_shown_in_the_alert(store):
    store.add_brand("Acme", "@acme")
    lock_step_history(store)
    pushed_complaint(store)
    report = flag(store)
    assert report.clusters == 1 and report.flagged == len(GROUP)
    clusters = flagged_clusters(store)
    assert set(clusters) == {store.author_id("x", bot) for bot in GROUP}
    ev = story_coordination(store, [stable_id("x", "root")])
    assert ev["reposts"] == 45 and ev["coordinated_reposts"] == 5
    assert ev["share"] == round(5 / 45, 4)
    detect(store)
    [alert] = list_alerts(store)
    assert alert.evidence["coordination"]["share"] == ev["share"]
    assert len(alert.evidence["coordination"]["clusters"][0]["accounts"]) == len(GROUP)


def test_no_reposts_means_no_clusters(store):
    assert flag(store).clusters == 0
    assert flagged_clusters(store) == {}
    assert story_coordination(store, [1])["share"] == 0.0
