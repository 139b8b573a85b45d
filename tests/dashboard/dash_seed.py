"""Seeded stores for the dashboard tests: a small one with hand-countable numbers, and the rows
the later pipeline stages (scores, influence runs, alerts) would add to any store of posts.
Also `make_app`, a fresh AppTest of the dashboard with Streamlit's caches emptied."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import streamlit as st
from sqlalchemy import insert, select
from streamlit.testing.v1 import AppTest

from listener.post import Author, Batch, Interaction, Post
from listener.store import Store, schema

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
T0 = datetime(2026, 1, 5, tzinfo=UTC)
MODEL = "test-model-v2"
OLD_MODEL = "test-model-v1"
XSS_TEXTS = ("<script>alert(1)</script> acme", "<img src=x onerror=alert(1)> acme")
XSS_HANDLE = "<b>bold</b><img src=x onerror=alert(2)>"

# Acme: 60 scored mentions (30 negative, 20 neutral, 10 positive; 10 on reddit) and 12 unscored
# reposts of the first complaint (72 mentions); Globex: 30 (10 / 10 / 10); Initech: 10 (unscored).
# 17 reposts: user1..user12 of user0's a0, user13..user17 of user1's repost.

_NEG = ["acme lost my parcel again", "acme lost parcel and no refund", "still waiting acme refund",
        "acme support on hold for an hour"]
_NEU = ["acme store opens at nine", "ordered from acme today", "acme catalogue arrived"]
_POS = ["acme delivery was fast", "love my new acme kettle"]


def make_app() -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    return AppTest.from_file(APP, default_timeout=60)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def seed_small(store: Store) -> None:
    """Three brands, 100 posts, 20 authors, a repost cascade, two runs and three alerts."""
    store.add_brand("Acme", "acme", "shops")
    store.add_brand("Globex", "globex", "shops")
    store.add_brand("Initech", "initech", None)
    b = Batch()
    b.authors = [Author("x", f"u{i}", handle=f"user{i}", display_name=f"User {i}",
                        followers=(i + 1) * 100) for i in range(20)]
    b.authors += [Author("reddit", f"r{i}", handle=f"redditor{i}", followers=0) for i in range(5)]
    labels: dict[str, str] = {}
    for i in range(60):
        label = "negative" if i < 30 else "neutral" if i < 50 else "positive"
        text = {"negative": _NEG, "neutral": _NEU, "positive": _POS}[label][i % (
            4 if label == "negative" else 3 if label == "neutral" else 2)]
        platform, author = ("reddit", f"r{i % 5}") if i % 6 == 5 else ("x", f"u{i % 20}")
        b.posts.append(Post(platform, f"a{i}", author, f"{text} #{i}", _at(i * 60),
                            url=f"https://example.com/{platform}/a{i}", likes=i, reposts=i % 7))
        labels[f"{platform}:a{i}"] = label
    for i in range(30):
        label = ("negative", "neutral", "positive")[i % 3]
        b.posts.append(Post("x", f"g{i}", f"u{i % 20}", f"globex post {i}", _at(i * 90 + 7),
                            url=f"https://example.com/x/g{i}", likes=1))
        labels[f"x:g{i}"] = label
    for i in range(10):
        b.posts.append(Post("x", f"i{i}", f"u{i}", f"initech memo {i}", _at(i * 200 + 3)))
    # user1..user12 repost the first Acme complaint (a0 by user0); user13.. repost user1's repost.
    for i in range(1, 13):
        b.posts.append(Post("x", f"rt{i}", f"u{i}", "RT acme lost my parcel again",
                            _at(30 + i), parent_native_id="a0"))
        b.interactions.append(Interaction("x", "repost", f"u{i}", "u0", _at(30 + i),
                                          f"rt{i}", "a0"))
    for i in range(13, 18):
        b.interactions.append(Interaction("x", "repost", f"u{i}", "u1", _at(50 + i),
                                          None, "rt1"))
    store.write(b)
    with store.engine.begin() as conn:
        p = schema.posts
        ids = dict(conn.execute(select(p.c.platform + ":" + p.c.native_id, p.c.id)).all())
        rows = []
        for key, label in labels.items():
            probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
            probs[label] = 0.8
            rows.append({"post_id": ids[key], "model_version": MODEL, "label": label,
                         "scored_at": _at(5000), **probs})
            rows.append({"post_id": ids[key], "model_version": OLD_MODEL, "label": "positive",
                         "negative": 0.0, "neutral": 0.0, "positive": 1.0,
                         "scored_at": _at(1000)})
        conn.execute(insert(schema.sentiment_scores), rows)
    _runs(store, [store.author_id("x", f"u{i}") for i in range(20)])
    _alerts(store, ids)


def _runs(store: Store, authors: list[int]) -> None:
    with store.engine.begin() as conn:
        for n, created in enumerate((_at(3000), _at(4000))):
            run_id = conn.execute(insert(schema.influence_runs).values(
                brand_id=None, since=T0, until=_at(4000), created_at=created,
                params={"weights": {"amplification": 0.4, "cascade_reach": 0.3,
                                    "pagerank": 0.2, "audience": 0.1}})).inserted_primary_key[0]
            order = authors if n == 1 else authors[1:] + authors[:1]
            conn.execute(insert(schema.influence_scores), [
                {"run_id": run_id, "author_id": a, "rank": r + 1,
                 "influence": round(1.0 / (r + 1), 4), "community": r % 3,
                 "components": {"audience": (20 - r) * 100, "amplification": 20 - r,
                                "cascade_reach": 40 - 2 * r, "pagerank": 0.05 / (r + 1)}}
                for r, a in enumerate(order)])


def _alerts(store: Store, ids: dict[str, int]) -> None:
    acme = store.brand("Acme").id
    globex = store.brand("Globex").id
    growth = [{"t": _at(30 + 5 * k).isoformat(), "size": 1 + 3 * k} for k in range(6)]
    ev = {"root_posts": [{"id": ids["x:a0"]}], "growth": growth,
          "forecast": {"final": 42.0, "low": 30.0, "high": 60.0},
          "influencers": [{"author_id": store.author_id("x", "u0"), "handle": "user0", "rank": 1,
                           "role": "author"}],
          "path": [{"source": store.author_id("x", "u1"), "target": store.author_id("x", "u0"),
                    "kind": "repost"}],
          "themes": [{"term": "lost parcel", "posts": 12}], "volume_z": 4.2}
    rows = [
        {"brand_id": acme, "story_key": "a0", "status": "open", "severity": 0.91,
         "title": "Acme: 'lost my parcel' complaint spreading fast", "evidence": ev,
         "opened_at": _at(45), "updated_at": _at(60)},
        {"brand_id": acme, "story_key": "old", "status": "resolved", "severity": 0.40,
         "title": "Acme: refund complaints", "evidence": {}, "opened_at": _at(600),
         "updated_at": _at(700), "resolved_at": _at(700)},
        {"brand_id": globex, "story_key": "g", "status": "acknowledged", "severity": 0.55,
         "title": "Globex: negative spike", "evidence": {"root_post_ids": [ids["x:g0"]]},
         "opened_at": _at(900), "updated_at": _at(950)},
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(schema.alerts), rows)


def seed_derived(store: Store, seed: int = 7, model: str = "demo-seeded-v1") -> None:
    """Plausible scores, two influence runs and alerts for a store that only holds posts:
    what the later stages would write, so the dashboard can be seen full before they land."""
    rng = random.Random(seed)
    e = store.engine
    p, i = schema.posts, schema.interactions
    with e.connect() as conn:
        posts = conn.execute(select(p.c.id, p.c.gold_label, p.c.created_at)).all()
        edges = conn.execute(select(i.c.source_author_id, i.c.target_author_id,
                                    i.c.target_post_id)).all()
        a = schema.authors
        followers = dict(conn.execute(select(a.c.id, a.c.followers)).all())
    now = datetime.now(UTC)
    rows = []
    for pid, gold, _ in posts:
        label = gold or rng.choice(["negative", "negative", "neutral", "positive"])
        if rng.random() < 0.15:
            label = rng.choice(["negative", "neutral", "positive"])
        probs = dict.fromkeys(("negative", "neutral", "positive"), 0.1)
        probs[label] = 0.8
        rows.append({"post_id": pid, "model_version": model, "label": label,
                     "scored_at": now, **probs})
    with e.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(schema.sentiment_scores), rows[start:start + 5000])
    g = nx.DiGraph()
    for src, dst, _ in edges:
        w = g.get_edge_data(src, dst, {"weight": 0})["weight"]
        g.add_edge(src, dst, weight=w + 1)
    pr = nx.pagerank(g.reverse(copy=False), weight="weight") if len(g) else {}
    received = dict(g.in_degree(weight="weight"))
    comm = {}
    for k, part in enumerate(nx.community.louvain_communities(g.to_undirected(), seed=seed)):
        comm.update(dict.fromkeys(part, k))
    scored = sorted(g.nodes, key=lambda a: -(pr.get(a, 0) + received.get(a, 0) / 1e4))[:2000]
    last = max((r[2] for r in posts), default=now)
    with e.begin() as conn:
        for n, jitter in enumerate((0.3, 0.0)):
            run_id = conn.execute(insert(schema.influence_runs).values(
                brand_id=None, created_at=now - timedelta(hours=24 * (1 - n)), until=last,
                params={"weights": {"amplification": 0.4, "cascade_reach": 0.3,
                                    "pagerank": 0.2, "audience": 0.1}})).inserted_primary_key[0]
            order = sorted(scored, key=lambda a: -(pr.get(a, 0) * (1 + jitter * rng.random())))
            conn.execute(insert(schema.influence_scores), [
                {"run_id": run_id, "author_id": a, "rank": r + 1,
                 "influence": round(pr.get(a, 0) * 100, 4), "community": comm.get(a),
                 "components": {"audience": followers.get(a) or 0,
                                "amplification": received.get(a, 0),
                                "cascade_reach": len(nx.descendants(g.reverse(copy=False), a))
                                if r < 50 else received.get(a, 0),
                                "pagerank": round(pr.get(a, 0), 6)}}
                for r, a in enumerate(order)])
    _derived_alerts(store, edges)


def _derived_alerts(store: Store, edges) -> None:
    """One alert per brand whose most amplified post is negative (the demo's story is one)."""
    counts: dict[int, int] = {}
    for _, _, post in edges:
        if post is not None:
            counts[post] = counts.get(post, 0) + 1
    pb, ss = schema.post_brands, schema.sentiment_scores
    with store.engine.begin() as conn:
        for brand in store.brands():
            rows = conn.execute(select(pb.c.post_id, pb.c.created_at).join(
                ss, ss.c.post_id == pb.c.post_id).where(
                pb.c.brand_id == brand.id, ss.c.label == "negative")).all()
            best = max(rows, key=lambda r: counts.get(r[0], 0), default=None)
            if best is None or counts.get(best[0], 0) < 20:
                continue
            size = counts[best[0]]
            onset = best[1] if best[1].tzinfo else best[1].replace(tzinfo=UTC)
            growth = [{"t": (onset + timedelta(minutes=10 * k)).isoformat(),
                       "size": round(size * (1 - 0.8 ** k))} for k in range(12)]
            conn.execute(insert(schema.alerts).values(
                brand_id=brand.id, story_key=f"post:{best[0]}", status="open",
                severity=round(min(1.0, size / 500), 2),
                title=f"{brand.name}: a negative post is spreading ({size:,} amplifications)",
                evidence=json.loads(json.dumps({
                    "root_post_ids": [best[0]], "growth": growth,
                    "forecast": {"final": size * 1.3, "low": size * 1.05, "high": size * 1.8},
                    "themes": [{"term": "lost luggage", "posts": size // 3}]})),
                opened_at=onset + timedelta(minutes=20), updated_at=onset + timedelta(hours=2)))
