"""The Overview's found themes: ranked rows with a sparkline, a click to the theme's posts, and
the competitor group's brands compared theme by theme (a seeded store with `post_themes`)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from dash_seed import T0
from sqlalchemy import create_engine, insert, select
from test_pages import choose_brand, texts

from dashboard import queries
from dashboard.themes import group_shares, ranked
from listener.store import schema


def seed_themes(store) -> dict[str, int]:
    """Acme's 30 complaints: even ones "lost · parcel" (1), odd ones "refund · waiting" (2);
    Globex's ten: all "lost · parcel". The shops group shares the ids, as the job writes them."""
    brands = {b.name: b.id for b in store.brands()}
    p = schema.posts
    with store.engine.begin() as conn:
        ids = dict(conn.execute(select(p.c.native_id, p.c.id)).all())
        rows = [{"post_id": ids[f"a{i}"], "brand_id": brands["Acme"], "theme_id": 1 + i % 2,
                 "theme_name": ("lost · parcel", "refund · waiting")[i % 2]} for i in range(30)]
        rows += [{"post_id": ids[f"g{i}"], "brand_id": brands["Globex"], "theme_id": 1,
                  "theme_name": "lost · parcel"} for i in range(0, 30, 3)]
        conn.execute(insert(schema.post_themes), rows)
    return brands


def test_ranked_and_group_shares_are_computed_from_the_rows():
    day = T0
    rows = pd.DataFrame(
        [(1, 7, "bag · lost", day + timedelta(hours=h), h % 3, 100) for h in range(6)]
        + [(1, 8, "hold · phone", day + timedelta(days=1, hours=h), 9, None) for h in range(6)]
        + [(2, 7, "bag · lost", day, 4, 10)],
        columns=["brand_id", "theme_id", "theme_name", "created_at", "author_id", "followers"])
    table = ranked(rows, {1: "Acme", 2: "Globex"})
    acme = table[table["brand"] == "Acme"].set_index("name")
    assert acme.loc["bag · lost", "posts"] == 6 and acme.loc["hold · phone", "posts"] == 6
    # "hold · phone" is all on the last day: it grows, and so outranks the flat theme.
    assert acme.loc["hold · phone", "priority"] > acme.loc["bag · lost", "priority"]
    assert bool(acme.loc["hold · phone", "emerging"])
    assert acme.loc["hold · phone", "trend"][-1] == 6 and len(acme.loc["bag · lost", "trend"]) == 8
    shares = group_shares(rows, {1: "Acme", 2: "Globex"}).set_index(["brand", "name"])
    assert shares.loc[("Acme", "bag · lost"), "share"] == 0.5
    assert shares.loc[("Globex", "bag · lost"), "share"] == 1.0


def test_a_theme_filters_the_posts_query(seeded):
    brands = seed_themes(seeded)
    engine = create_engine(seeded.engine.url)
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=30)
    found = queries.search_posts(engine, None, (brands["Acme"],), None, since, until,
                                 theme=(brands["Acme"], 2), limit=100)
    assert len(found) == 15 and all(int(t.split("#")[1]) % 2 == 1 for t in found["text"])
    rows = queries.found_themes(engine, (brands["Acme"], brands["Globex"]), None, since, until)
    assert len(rows) == 40 and set(rows["theme_name"]) == {"lost · parcel", "refund · waiting"}


def test_the_overview_shows_found_themes_and_compares_the_group(app, seeded):
    seed_themes(seeded)
    # The page read every brand's themes (none yet) on its first run and keeps them for the
    # cache's TTL, whichever brand is chosen: Refresh reads them again.
    next(b for b in app.sidebar.button if b.label == "Refresh data").click().run()
    assert not app.exception, [e.message for e in app.exception]
    choose_brand(app, "Acme")
    assert "Top complaint themes" in texts(app)
    [table] = [d.value for d in app.dataframe if "trend" in d.value.columns]
    assert set(table["name"]) == {"lost · parcel", "refund · waiting"}
    assert sorted(table["posts"]) == [15, 15]
    specs = [c.proto.spec for c in app.get("vega_lite_chart")]
    assert any("Complaint themes compared: shops" in spec for spec in specs), [s[:300] for s in specs]


def test_without_found_themes_the_overview_falls_back_to_words(app):
    app.run()
    choose_brand(app, "Acme")
    assert "Top complaint themes" not in texts(app)
    specs = [c.proto.spec for c in app.get("vega_lite_chart")]
    assert any("Over-represented complaint words" in spec for spec in specs)
