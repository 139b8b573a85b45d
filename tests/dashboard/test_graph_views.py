"""The Graph explorer's default views, laid out by the pipeline and read back by the page.

The saved view must be the one the page would compute itself (same authors, arcs and
positions), be used only while it answers the view asked for and the interactions it was read
from, and go with erasure and retention."""

from __future__ import annotations

import json
from datetime import timedelta

from dash_seed import T0, make_app
from test_pages import open_page, texts

from graph import view
from listener.jobs import graph_views, pipeline
from listener.post import Batch, Interaction
from listener.store import graph_views as gv
from listener.store import schema


def _saved_keys(store) -> list[str]:
    with store.engine.connect() as conn:
        m = schema.meta
        return [k for (k,) in conn.execute(m.select().with_only_columns(m.c.key)
                                           .where(m.c.key.like(gv.PREFIX + "%")))]


def _chart(at) -> tuple[dict, list]:
    """The network chart as Streamlit sends it: its spec and its datasets (authors, arcs)."""
    (chart,) = [e for e in at._tree if getattr(e, "type", "") == "vega_lite_chart"]
    return (json.loads(chart.proto.spec),
            [(d.name, d.data.SerializeToString()) for d in chart.proto.datasets])


def test_the_pipeline_lays_out_the_default_views_after_ranking(seeded):
    assert pipeline.STAGES.index(graph_views.stage) == pipeline.STAGES.index(
        pipeline.rank.stage) + 1
    report = graph_views.save_default_views(seeded)
    assert report.views == 1 + len(seeded.brands()) == len(_saved_keys(seeded))
    # Each record is exactly what computing the view now gives: capped graph and layout.
    since, until = view.default_window(gv.newest_post(seeded.engine))
    ids = tuple(sorted(b.id for b in seeded.brands()))
    run = gv.latest_run_id(seeded.engine, None)
    key = view.view_key(ids, None, since, until, view.DEFAULT_CAP, run)
    saved = gv.saved_view(seeded.engine, key)
    assert saved == graph_views.compute(seeded, ids, since, until, run_id=run)
    g, pos, authors, interactions = view.from_record(saved)
    edges = gv.brand_edges(seeded.engine, ids, None, since, until)
    live = view.capped(edges, view.DEFAULT_CAP)
    assert list(g.nodes) == list(live.nodes)
    assert list(g.edges(data=True)) == list(live.edges(data=True))
    assert pos == view.layout(live)
    assert (authors, interactions) == (18, 17)
    # Another cap, window or run is another view: not answered by this one.
    assert gv.saved_view(seeded.engine, view.view_key(ids, None, since, until, 50, run)) is None
    assert gv.saved_view(seeded.engine, view.view_key(
        ids, None, since - timedelta(days=1), until, view.DEFAULT_CAP, run)) is None


def test_the_page_reads_the_saved_view_and_computes_when_it_is_stale(seeded):
    at = make_app()
    at.run()
    open_page(at, "views/graph.py")
    live_caption, live_chart = texts(at), _chart(at)
    assert "Laid out by the pipeline" not in live_caption
    assert len(live_chart[1]) == 3  # arcs, authors, names
    graph_views.save_default_views(seeded)
    at = make_app()
    at.run()
    open_page(at, "views/graph.py")
    caption = texts(at)
    assert "Showing 18 of 18 authors and 17 links (17 interactions in scope)" in caption
    assert "Laid out by the pipeline" in caption
    assert _chart(at) == live_chart  # the same authors and arcs, where they were
    # A new interaction (newer than the view's stamp): the page computes the view again.
    seeded.write(Batch(interactions=[Interaction("x", "repost", "u19", "u0",
                                                 T0 + timedelta(minutes=200), None, "a0")]))
    at = make_app()
    at.run()
    open_page(at, "views/graph.py")
    assert "Laid out by the pipeline" not in texts(at)
    assert "18 interactions in scope" in texts(at)


def test_erasure_and_retention_drop_the_saved_views(seeded):
    from listener.store.erasure import erase_author
    from listener.store.retention import prune

    graph_views.save_default_views(seeded)
    report = erase_author(seeded, "x", "@user3", seeded.erasure_key())
    assert _saved_keys(seeded) == []
    assert report.removed["graph explorer views (the next pass lays them out again)"] == 1
    graph_views.save_default_views(seeded)
    assert _saved_keys(seeded)
    prune(seeded, lambda platform: 1, now=T0 + timedelta(days=400))
    assert _saved_keys(seeded) == []


def test_saved_views_on_both_dialects(store):
    """Saved, read back and dropped the same way on SQLite and PostgreSQL."""
    from dash_seed import seed_small

    seed_small(store)
    assert graph_views.save_default_views(store).views == 1 + len(store.brands())
    since, until = view.default_window(gv.newest_post(store.engine))
    acme = store.brand("Acme").id
    run = gv.latest_run_id(store.engine, acme)
    key = view.view_key((acme,), None, since, until, view.DEFAULT_CAP, run)
    saved = gv.saved_view(store.engine, key)
    assert saved == graph_views.compute(store, (acme,), since, until, run_id=run)
    assert saved["interactions"] == 17  # every repost in the seed is of an Acme post
    with store.engine.begin() as conn:
        assert gv.drop_views(conn) == 1 + len(store.brands())
    assert gv.saved_view(store.engine, key) is None
