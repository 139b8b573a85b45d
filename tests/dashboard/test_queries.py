"""The dashboard's reads and its one write, on SQLite and PostgreSQL, against hand counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dash_seed import MODEL, T0, seed_small
from sqlalchemy import select

from dashboard import actions, queries
from listener.errors import InvalidTransition, NotFoundError
from listener.post import stable_id
from listener.store import schema

SINCE, UNTIL = T0, T0 + timedelta(days=7)


@pytest.fixture
def seeded_any(store):
    seed_small(store)
    return store


def test_store_facts_pick_the_newest_model_and_list_platforms(seeded_any):
    facts = queries.store_facts(seeded_any.engine)
    assert facts["model"] == MODEL  # scored after the older test-model-v1
    assert facts["platforms"] == ["reddit", "x"]
    assert [b["name"] for b in facts["brands"]] == ["Acme", "Globex", "Initech"]
    assert facts["first"] == T0 and not facts["demo"]
    assert not queries.has_gold_reasons(seeded_any.engine)


def test_mention_counts_by_brand_period_hour_and_label(seeded_any):
    e = seeded_any.engine
    acme = seeded_any.brand("Acme").id
    split = SINCE + timedelta(hours=24)
    df = queries.mention_counts(e, None, (acme,), None, split, UNTIL, SINCE, "hour")
    by_period = df.groupby("period")["posts"].sum().to_dict()
    assert by_period == {"previous": 24 + 12, "current": 36}  # a0..a23 and the 12 reposts
    assert df["label"].isna().all()
    assert df["time"].min() == T0 and df["time"].dt.minute.eq(0).all()
    scored = queries.mention_counts(e, MODEL, (acme,), None, split, UNTIL, SINCE, "hour")
    assert scored.groupby("period")["posts"].sum().to_dict() == {"previous": 24, "current": 36}
    labels = scored.groupby("label")["posts"].sum()
    assert labels.to_dict() == {"negative": 30, "neutral": 20, "positive": 10}
    days = queries.mention_counts(e, None, (acme,), ("reddit",), SINCE, UNTIL, SINCE, "day")
    assert days["posts"].sum() == 10 and set(days["time"].dt.hour) == {0}


def test_complaint_themes_find_the_complaint(seeded_any):
    acme = seeded_any.brand("Acme").id
    themes, sample = queries.complaint_themes(seeded_any.engine, MODEL, (acme,), None, SINCE,
                                              UNTIL, skip=("acme",))
    assert sample == 30
    assert "lost" in " ".join(themes["term"].head(3))


def test_search_posts_filters_and_sorts(seeded_any):
    e = seeded_any.engine
    acme = (seeded_any.brand("Acme").id,)
    df = queries.search_posts(e, MODEL, acme, None, SINCE, UNTIL, labels=("negative",),
                              text="Refund", sort="engagement")
    assert len(df) == 15  # i % 4 in (1, 2) among the 30 complaints
    engagement = df["likes"] + df["reposts"]
    assert engagement.is_monotonic_decreasing
    reach = queries.search_posts(e, MODEL, None, None, SINCE, UNTIL, sort="reach", limit=5)
    assert reach["followers"].iloc[0] == 2000
    none = queries.search_posts(e, MODEL, acme, None, SINCE, UNTIL, text="a_m")
    assert none.empty  # LIKE wildcards in the search are literal


def test_alerts_ordered_by_severity_with_evidence(seeded_any):
    df = queries.alerts(seeded_any.engine, None, ("open", "acknowledged", "resolved"))
    assert list(df["severity"]) == [0.91, 0.55, 0.40]
    assert df["evidence"].iloc[0]["forecast"]["final"] == 42.0
    assert str(df["opened_at"].dt.tz) == "UTC"


def test_influencers_with_components_and_rank_change(seeded_any):
    e = seeded_any.engine
    runs = queries.influence_runs(e, None)
    df = queries.influencers(e, runs[0]["id"], runs[1]["id"], 5)
    assert list(df["handle"]) == ["user0", "user1", "user2", "user3", "user4"]
    assert list(df["previous_rank"]) == [20, 1, 2, 3, 4]
    assert df["c_audience"].iloc[0] == 2000
    history = queries.rank_history(e, seeded_any.author_id("x", "u0"), None)
    assert list(history["rank"]) == [20, 1]


def test_graph_edges(seeded_any):
    e = seeded_any.engine
    ids = tuple(b.id for b in seeded_any.brands())
    brand = queries.brand_edges(e, ids, None, SINCE, UNTIL)
    assert brand["weight"].sum() == 17
    with e.connect() as conn:
        a0 = conn.execute(select(schema.posts.c.id)
                          .where(schema.posts.c.native_id == "a0")).scalar_one()
    cascade = queries.cascade_edges(e, (a0,))
    assert cascade["weight"].sum() == 17  # 12 direct reposts, 5 reposts of a repost
    author = seeded_any.author_id
    ego = queries.ego_edges(e, author("x", "u1"), SINCE, UNTIL)
    assert set(zip(ego["source"], ego["target"], strict=True)) == {
        (author("x", "u1"), author("x", "u0"))} | {
        (author("x", f"u{i}"), author("x", "u1")) for i in range(13, 18)}


def test_acknowledge_then_resolve(seeded_any):
    e = seeded_any.engine
    with e.connect() as conn:
        alert_id = conn.execute(select(schema.alerts.c.id)
                                .where(schema.alerts.c.story_key == "a0")).scalar_one()
    assert actions.acknowledge(seeded_any, alert_id, "Ana")
    assert not actions.acknowledge(seeded_any, alert_id, "Bo")  # already: nothing changes
    assert actions.resolve(seeded_any, alert_id, "  Cy\n ")
    assert not actions.resolve(seeded_any, alert_id, "Dee")
    with e.connect() as conn:
        row = conn.execute(select(schema.alerts).where(schema.alerts.c.id == alert_id)).one()
    assert row.status == "resolved" and row.resolved_at is not None
    assert (row.acknowledged_by, row.resolved_by) == ("Ana", "Cy")  # the first to act, tidied
    assert row.acknowledged_at is not None and row.acknowledged_at <= row.resolved_at
    with pytest.raises(NotFoundError):
        actions.resolve(seeded_any, 10_000, "Ana")
    with pytest.raises(InvalidTransition, match="name"):
        actions.resolve(seeded_any, alert_id, " \t")


def test_a_deep_cascade_is_followed_to_its_end(sqlite_store):
    """Reposts of reposts, 12 deep: the alert page counts every amplification."""
    from listener.post import Batch, Interaction, Post

    posts = [Post("x", f"c{k}", f"u{k}", f"RT chain {k}", T0 + timedelta(minutes=k),
                  parent_native_id=f"c{k - 1}" if k else None) for k in range(13)]
    hops = [Interaction("x", "repost", f"u{k}", f"u{k - 1}", posts[k].created_at, f"c{k}",
                        f"c{k - 1}") for k in range(1, 13)]
    sqlite_store.write(Batch(posts, [], hops))
    cascade = queries.cascade_edges(sqlite_store.engine, (stable_id("x", "c0"),))
    assert cascade["weight"].sum() == 12
