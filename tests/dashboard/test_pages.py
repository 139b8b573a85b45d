"""Every page through Streamlit's AppTest on a seeded store: no exception, the right numbers."""

from __future__ import annotations

from dash_seed import T0, XSS_HANDLE, XSS_TEXTS, make_app
from sqlalchemy import insert, select

from listener.post import Author, Batch, Post
from listener.store import schema

PAGES = ["views/overview.py", "views/alerts.py", "views/posts.py", "views/influencers.py",
         "views/graph.py"]


def texts(at) -> str:
    """Everything a user would read on the page, as one string."""
    out = []
    for node in at._tree:
        for attr in ("value", "label", "body"):
            v = getattr(node, attr, None)
            if isinstance(v, str):
                out.append(v)
    return "\n".join(out)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def open_page(at, page: str):
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def choose_brand(at, name: str):
    at.sidebar.selectbox(key="f_brand").set_value(name).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_overview_shows_the_seeded_numbers(app):
    m = metrics(app)
    # 72 Acme + 30 Globex + 10 Initech mentions; 90 scored: 40 negative, 20 positive.
    assert m["Mentions"] == "112"
    assert m["Negative share"] == "44%"
    assert m["Net sentiment"] == "-22%"
    assert m["Open alerts"] == "2"
    choose_brand(app, "Acme")
    m = metrics(app)
    assert (m["Mentions"], m["Negative share"], m["Net sentiment"], m["Open alerts"]) == (
        "72", "50%", "-33%", "1")
    # The newest model's scores are shown; the older model scored everything positive.
    assert "test-model-v2" in texts(app) and "test-model-v1" not in texts(app)


def test_filters_persist_across_pages_and_platform_filter_counts(app):
    choose_brand(app, "Acme")
    app.sidebar.multiselect(key="f_platforms").set_value(["reddit"]).run()
    assert metrics(app)["Mentions"] == "10"
    open_page(app, "views/posts.py")
    assert app.sidebar.selectbox(key="f_brand").value == "Acme"
    posts = app.dataframe[0].value
    assert len(posts) == 10 and set(posts["platform"]) == {"reddit"}


def test_alerts_page_lists_by_severity_with_evidence_and_acts(app, seeded):
    open_page(app, "views/alerts.py")
    m = metrics(app)
    assert m["Alerts shown"] == "2"  # open + acknowledged; the resolved one is hidden
    assert m["Severity"] == "0.91" and m["Forecast final size"] == "42"
    assert m["Reactions"] == "17"  # 12 reposts of a0, 5 of the first repost
    # The first table is the routing panel's; the alerts come after it.
    listing = next(d.value for d in app.dataframe if "severity" in d.value.columns)
    assert list(listing["severity"]) == [0.91, 0.55]
    assert "lost my parcel" in texts(app)

    assert app.button(key=f"ack_{_alert_id(seeded, 'a0')}").disabled  # no name typed yet
    app.text_input(key="alert_by").input("Ana Lyst").run()
    app.button(key=f"ack_{_alert_id(seeded, 'a0')}").click().run()
    assert not app.exception
    assert _status(seeded, "a0") == "acknowledged"
    app.button(key=f"resolve_{_alert_id(seeded, 'a0')}").click().run()
    assert _status(seeded, "a0") == "resolved"
    assert metrics(app)["Alerts shown"] == "1"
    with seeded.engine.connect() as conn:
        row = conn.execute(select(schema.alerts).where(schema.alerts.c.story_key == "a0")).one()
    assert (row.acknowledged_by, row.resolved_by) == ("Ana Lyst", "Ana Lyst")


def test_a_deep_link_opens_that_alert_on_the_alerts_page(seeded):
    """UNDERTOW_DASHBOARD_URL/?alert=ID, the link of every email and chat post."""
    at = make_app()
    target = _alert_id(seeded, "g")  # not the most severe, which the page shows by default
    at.query_params["alert"] = str(target)
    at.run()
    assert not at.exception, at.exception
    assert any(t.value == "Alerts" for t in at.title)
    row = _row(seeded, target)
    # md() escapes punctuation and puts a word joiner after dots, colons and @ (no autolinks)
    assert any(row.title in h.value.replace("\\", "").replace("\u2060", "") for h in at.subheader)


def _row(store, alert_id: int):
    with store.engine.connect() as conn:
        return conn.execute(select(schema.alerts).where(schema.alerts.c.id == alert_id)).one()


def _alert_id(store, key: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(schema.alerts.c.id)
                            .where(schema.alerts.c.story_key == key)).scalar_one()


def _status(store, key: str) -> str:
    with store.engine.connect() as conn:
        return conn.execute(select(schema.alerts.c.status)
                            .where(schema.alerts.c.story_key == key)).scalar_one()


def test_posts_page_filters_searches_and_sorts(app):
    choose_brand(app, "Acme")
    open_page(app, "views/posts.py")
    assert len(app.dataframe[0].value) == 72
    app.multiselect(key="posts_labels").set_value(["negative"]).run()
    df = app.dataframe[0].value
    assert len(df) == 30 and set(df["sentiment"]) == {"negative"}
    app.multiselect(key="posts_labels").set_value([]).run()
    app.text_input(key="posts_text").input("PARCEL").run()
    assert len(app.dataframe[0].value) == 28  # 16 complaints + 12 reposts, case-insensitive
    app.text_input(key="posts_text").input("").run()
    app.selectbox(key="posts_sort").set_value("engagement").run()
    df = app.dataframe[0].value
    assert df["text"].iloc[0] == "love my new acme kettle #59"
    assert df["link"].iloc[0] == "https://example.com/reddit/a59"  # 59 % 6 == 5: reddit


def test_influencers_page_ranks_with_components_and_opens_an_author(app, seeded):
    open_page(app, "views/influencers.py")
    df = app.dataframe[0].value
    assert list(df["handle"][:3]) == ["user0", "user1", "user2"]
    assert list(df["change"][:2]) == ["+19", "-1"]  # user0 was 20th in the previous run
    assert {"c_audience", "c_amplification", "c_cascade_reach", "c_pagerank"} <= set(df.columns)
    app.session_state["author_id"] = seeded.author_id("x", "u0")  # what selecting the row does
    app.run()
    assert not app.exception
    assert metrics(app)["Followers"] == "100" and metrics(app)["Current rank"] == "1"
    assert "Author: user0" in texts(app)


def test_graph_page_around_a_brand_an_alert_and_an_author(app):
    open_page(app, "views/graph.py")
    caption = texts(app)
    assert "Showing 18 of 18 authors and 17 links (17 interactions in scope)" in caption
    assert {b.label for b in app.get("download_button")} == {"Download GEXF", "Download GraphML"}
    app.segmented_control(key="graph_scope").set_value("Alert").run()
    assert not app.exception
    assert "Showing 18 of 18 authors" in texts(app)
    app.slider(key="graph_cap").set_value(50).run()
    app.segmented_control(key="graph_scope").set_value("Author").run()
    assert not app.exception
    assert "Showing 13 of 13 authors and 12 links" in texts(app)  # user0, the top author


def test_every_page_on_an_empty_store_says_what_to_do(empty_url):
    at = make_app()
    at.run()
    assert not at.exception
    for page in PAGES:
        open_page(at, page)
        assert "No posts yet: run `undertow demo` or `undertow collect`" in texts(at), page


def test_a_store_with_posts_only_shows_the_next_steps(tmp_path, monkeypatch):
    from listener.store import Store

    url = f"sqlite:///{tmp_path / 'posts.db'}"
    store = Store.open(url)
    store.add_brand("Acme", "acme")
    store.write(Batch(posts=[Post("x", f"p{i}", "u1", f"acme {i}", T0) for i in range(3)]))
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", url)
    at = make_app()
    at.run()
    assert not at.exception
    assert metrics(at)["Mentions"] == "3"
    assert "No sentiment scores yet: run `undertow score`" in texts(at)
    open_page(at, "views/influencers.py")
    assert "No influencer ranking yet: run `undertow rank`" in texts(at)
    open_page(at, "views/alerts.py")
    assert "No alerts with this status" in texts(at)
    open_page(at, "views/graph.py")
    assert "No amplification" in texts(at)
    store.close()


def test_untrusted_text_is_never_rendered_as_html(seeded):
    seeded.write(Batch(
        authors=[Author("x", "evil", handle=XSS_HANDLE, followers=5)],
        posts=[Post("x", f"xss{i}", "evil", t, T0, url="javascript:alert(3)")
               for i, t in enumerate(XSS_TEXTS)]))
    with seeded.engine.begin() as conn:
        conn.execute(schema.alerts.update().where(schema.alerts.c.story_key == "a0").values(
            title="<script>alert(4)</script> [click](javascript:alert(5))"))
    at = make_app()
    at.run()
    for page in PAGES:
        open_page(at, page)
        for node in at._tree:
            proto = getattr(node, "proto", None)
            assert not getattr(proto, "allow_html", False), page
            assert getattr(node, "type", "") != "html", page
    open_page(at, "views/posts.py")
    at.text_input(key="posts_text").input("alert(1)").run()
    df = at.dataframe[0].value
    assert sorted(df["text"]) == sorted(XSS_TEXTS)  # shown as text, character for character
    assert set(df["author"]) == {XSS_HANDLE}
    assert df["link"].isna().all()  # a javascript: URL never becomes a link
    open_page(at, "views/alerts.py")
    shown = texts(at)
    assert "<script>" not in shown and r"\<script\>" in shown
    assert "](javascript" not in shown


def test_demo_banner_says_what_is_simulated(seeded):
    seeded.set_meta({"demo": "1", "demo_facts": '{"week": "2015-02-17 + 7 days", '
                     '"story_post": "a0", "story_reposts": 724, '
                     '"story_onset": "2015-02-22T14:00:00+00:00"}'})
    at = make_app()
    at.run()
    banner = at.warning[0].value
    assert "simulated" in banner and "real tweets" in banner
    # Its cascade's reactions (listener.story_numbers), not the post's own repost counter.
    assert "17 reactions" in banner and "724" not in banner


def test_password_gate(seeded, monkeypatch):
    monkeypatch.setenv("UNDERTOW_DASHBOARD_PASSWORD", "correct horse")
    monkeypatch.setattr("time.sleep", lambda s: None)
    at = make_app()
    at.run()
    assert not at.exception
    assert not at.metric and "Overview" not in [t.value for t in at.title]
    at.text_input[0].input("wrong")  # a form: the value goes in with the submit
    at.button[0].click().run()
    assert at.error[0].value == "Wrong password."
    assert "correct horse" not in texts(at)
    at.text_input[0].input("correct horse")
    at.button[0].click().run()
    assert not at.exception
    assert metrics(at)["Mentions"] == "112"
    assert "correct horse" not in texts(at)


def test_alert_evidence_with_unknown_keys_still_renders(seeded):
    with seeded.engine.begin() as conn:
        conn.execute(insert(schema.alerts).values(
            brand_id=seeded.brand("Acme").id, story_key="odd", status="open", severity=0.99,
            title="Odd evidence", evidence={"growth": [["2026-01-05T00:00:00Z", 3]],
                                            "root_posts": [{"id": "not a number"}], "z": 1},
            opened_at=T0, updated_at=T0))
    at = make_app()
    at.run()
    open_page(at, "views/alerts.py")
    assert metrics(at)["Severity"] == "0.99"
    assert [j.value for j in at.json] == ['{"z": 1}']  # unknown keys shown verbatim
