"""The URL scheme, chosen windows and comparisons, drill-down and the Posts export."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
from dash_seed import T0, make_app
from test_pages import metrics, texts

from dashboard import drill, export, queries, url_state
from listener.post import stable_id


def test_url_state_round_trips_and_drops_bad_values():
    q = {"page": "posts", "brand": "Acme", "platforms": "x,reddit", "from": "2026-01-05",
         "to": "2026-01-06T12:00", "compare": "2026-01-01..2026-01-02", "post": "42",
         "author": "7", "alert": "3", "utm": "mail"}
    u = url_state.read(q)
    assert (u.page, u.brand, u.platforms, u.post, u.author, u.alert) == (
        "posts", "Acme", ("x", "reddit"), 42, 7, 3)
    assert u.since == datetime(2026, 1, 5, tzinfo=UTC)
    assert u.until == datetime(2026, 1, 6, 12, tzinfo=UTC)
    assert (u.compare, u.compare_since) == ("custom", datetime(2026, 1, 1, tzinfo=UTC))
    back = url_state.params(u)
    assert list(back) == ["page", "brand", "platforms", "from", "to", "compare", "post",
                          "author", "alert"]
    assert url_state.read(back).with_(extra={}) == u.with_(extra={})
    bad = url_state.read({"page": "nope", "from": "yesterday", "to": "2026-01-01",
                          "range": "2y", "compare": "x..y", "post": "1; drop"})
    assert bad == url_state.UrlState()
    assert url_state.read({"from": "2026-01-05", "to": "2026-01-04"}).since is None
    assert url_state.link(u, "alerts", post=None).startswith("?page=alerts&brand=Acme")


def test_a_url_opens_its_page_brand_range_and_comparison(seeded):
    at = make_app()
    at.query_params.update({"page": "overview", "brand": "Acme", "from": "2026-01-05",
                            "to": "2026-01-06", "compare": "2026-01-06..2026-01-07"})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    # Acme on 5 Jan: a0..a23 (hourly) and the 12 reposts of a0 = 36; on 6 Jan a24..a47 = 24.
    m = metrics(at)
    assert m["Mentions"] == "36"
    assert "05 Jan 2026 00:00 to 06 Jan 2026 00:00 UTC" in texts(at)
    assert at.sidebar.selectbox(key="f_range").value == "Chosen dates"
    assert at.query_params["brand"] == "Acme" and at.query_params["page"] == "overview"
    assert at.query_params["from"] == "2026-01-05" and at.query_params["to"] == "2026-01-06"
    # 36 against 24: +50% vs the chosen period.
    mentions = next(x for x in at.metric if x.label == "Mentions")
    assert mentions.delta == "+50% vs comparison"
    at.sidebar.selectbox(key="f_compare").set_value("none").run()
    assert next(x for x in at.metric if x.label == "Mentions").delta in (None, "")
    assert at.query_params["compare"] == "none"


def test_a_url_opens_a_page_and_a_post(seeded):
    at = make_app()
    post = stable_id("x", "a0")
    at.query_params.update({"page": "posts", "brand": "Acme", "range": "all",
                            "post": str(post)})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Posts"
    body = texts(at)
    assert f"Post {post} by user0" in body and "acme lost my parcel again #0" in body
    assert "alert #" in body  # a0 is the root of the seeded Acme alert
    assert at.query_params["post"] == str(post) and at.query_params["range"] == "all"


def test_a_selected_mark_is_a_drill_down():
    brands = {"Acme": 1, "Globex": 2}
    t = T0 + timedelta(hours=0)
    d = drill.from_point({"brand": "Acme", "time": t.timestamp() * 1000}, brands, (1, 2),
                         T0, T0 + timedelta(days=3), "hour")
    assert (d.brand_ids, d.since, d.until, d.labels) == ((1,), t, t + timedelta(hours=1), None)
    s = drill.from_point({"label": "negative"}, brands, (1, 2), T0, T0 + timedelta(days=1),
                         "day")
    assert (s.brand_ids, s.labels, s.until - s.since) == ((1, 2), ("negative",),
                                                          timedelta(days=1))
    assert drill.picked({"selection": {"pick": [{"brand": "Acme"}]}}) == [{"brand": "Acme"}]
    assert drill.picked({"selection": {}}) == []


def test_posts_page_follows_a_drill_down(app, seeded):
    acme = seeded.brand("Acme").id
    app.session_state["drill"] = drill.Drill((acme,), T0, T0 + timedelta(hours=1), None,
                                             "Acme, first hour")
    app.switch_page("views/posts.py").run()
    assert not app.exception, [e.message for e in app.exception]
    body = texts(app)
    assert "Drill-down from a chart: Acme\\, first hour" in body
    assert "13 shown" in body  # a0 and its twelve reposts
    table = app.dataframe[0].value
    assert set(table["brands"]) == {"Acme"}
    app.button(key="drill_clear").click().run()
    assert "Drill-down from a chart" not in texts(app)


def test_export_is_the_whole_filtered_set_and_neutralises_formulas(seeded):
    eng = seeded.engine
    acme = seeded.brand("Acme").id
    args = (None, (acme,), None, T0, T0 + timedelta(days=30))
    shown = queries.search_posts(eng, *args, limit=5)
    assert len(shown) == 5
    frames = list(queries.iter_posts(eng, *args, chunk=7))
    assert [len(f) for f in frames][:2] == [7, 7] and sum(map(len, frames)) == 72
    csv = pd.read_csv(io.BytesIO(export.to_csv(queries.iter_posts(eng, *args, chunk=7))))
    assert len(csv) == 72 and set(csv["brands"]) == {"Acme"}
    assert list(csv["id"][:5]) == list(shown["id"])  # same order as the page
    pq = pd.read_parquet(io.BytesIO(export.to_parquet(queries.iter_posts(eng, *args, chunk=7))))
    assert len(pq) == 72 and str(pq["created_at"].dt.tz) == "UTC"
    hostile = pd.DataFrame({"id": [1, 2], "text": ["=HYPERLINK(\"http://x\")", "fine -1"],
                            "handle": ["@evil", "ok"], "created_at": [T0, T0]})
    out = export.to_csv([hostile]).decode()
    assert "'=HYPERLINK" in out and "'@evil" in out and ",fine -1," in out
    assert export.to_csv([]).decode().startswith("id,created_at,platform,brands")


def test_choosing_dates_and_a_comparison_in_the_sidebar(app):
    from datetime import date

    app.sidebar.selectbox(key="f_range").set_value("Chosen dates").run()
    assert not app.exception, [e.message for e in app.exception]
    app.sidebar.date_input(key="f_dates").set_value((date(2026, 1, 6), date(2026, 1, 6))).run()
    app.sidebar.selectbox(key="f_compare").set_value("custom").run()
    app.sidebar.date_input(key="f_cdates").set_value((date(2026, 1, 5), date(2026, 1, 5))).run()
    assert not app.exception, [e.message for e in app.exception]
    # All brands on 6 Jan: Acme a24..a47 (24), Globex g16..g29 (14: minutes 1447..2617),
    # Initech i8, i9 (2) = 40; on 5 Jan: 36 + 16 + 8 = 60, so -33%.
    mentions = next(m for m in app.metric if m.label == "Mentions")
    assert (mentions.value, mentions.delta) == ("40", "-33% vs comparison")
    assert app.query_params["from"] == "2026-01-06" and app.query_params["to"] == "2026-01-07"
    assert app.query_params["compare"] == "2026-01-05..2026-01-06"
