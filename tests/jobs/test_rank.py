"""The ranking job on both dialects: edges loaded set-based, runs saved, brand filter, exports."""

from datetime import UTC, datetime, timedelta

import networkx as nx
from click.testing import CliRunner

from listener.cli import main
from listener.jobs.rank import load_edges, rank, top_influencers
from listener.post import Author, Batch, Interaction, Post
from listener.store import schema
from listener.store.influence import latest_run

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def star_store(store):
    """'hub' is reposted by ten fans about @acme; 'loner' is mentioned once about something else."""
    b = Batch()
    b.authors = [Author("x", "hub", handle="hub", followers=50_000),
                 Author("x", "loner", handle="loner", followers=10)]
    b.posts.append(Post("x", "root", "hub", "@acme ruined my weekend", T0))
    for i in range(10):
        b.authors.append(Author("x", f"fan{i}", handle=f"fan{i}", followers=100))
        rt = Post("x", f"rt{i}", f"fan{i}", "RT @hub: @acme ruined my weekend",
                  T0 + timedelta(minutes=i + 1))
        b.posts.append(rt)
        b.interactions.append(Interaction("x", "repost", f"fan{i}", "hub", rt.created_at,
                                          rt.native_id, "root"))
    other = Post("x", "other", "fan0", "hello @loner", T0 + timedelta(hours=1))
    b.posts.append(other)
    b.interactions.append(Interaction("x", "mention", "fan0", "loner", other.created_at, "other"))
    store.add_brand("Acme", "@acme")
    store.write(b)


def test_rank_saves_a_run_with_components(store):
    star_store(store)
    edges = load_edges(store)
    assert len(edges) == 11
    report = rank(store)
    assert report.run_id and report.authors == 12
    top = top_influencers(store, top=3)
    assert top[0]["handle"] == "hub" and top[0]["rank"] == 1
    assert top[0]["components"]["unique_amplifiers"] == 10
    assert top[0]["followers"] == 50_000
    # 11 interactions are too few to backtest a recency weighting: the run says it kept 12 h.
    decay = latest_run(store).params["decay"]
    assert decay["label"] == "12 h" and "too few" in decay["reason"]
    # The brand's own graph leaves the unrelated mention out.
    assert len(load_edges(store, store.brand("Acme").id)) == 10
    rank(store, brand="Acme")
    assert [r["handle"] for r in top_influencers(store, "Acme", top=50)].count("loner") == 0
    # A window before anything happened has nothing to rank.
    assert rank(store, until=T0).run_id is None


def test_cli_influencers_and_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("UNDERTOW_HOME", str(tmp_path))
    monkeypatch.delenv("UNDERTOW_DATABASE_URL", raising=False)
    from listener.settings import Settings
    from listener.store import Store

    store = Store.open(Settings.load().db_url)
    star_store(store)
    with store.engine.begin() as conn:  # a big audience lifts fan7 in `rank`: exports must agree
        conn.execute(schema.authors.update().where(schema.authors.c.handle == "fan7")
                     .values(followers=5_000_000))
    runner = CliRunner()
    assert "No ranking yet" in runner.invoke(main, ["influencers"]).output
    assert runner.invoke(main, ["rank"]).exit_code == 0
    table = runner.invoke(main, ["influencers", "--top", "3"]).output
    assert table.splitlines()[1].split()[:2] == ["1", "hub"]
    out = runner.invoke(main, ["graph", "export", "--format", "graphml"])
    assert out.exit_code == 0, out.output
    g = nx.read_graphml(tmp_path / "exports" / "undertow-all.graphml")
    assert g.number_of_nodes() == 12 and g.number_of_edges() == 11
    # The export ranks with the same inputs as `undertow rank` (followers, negative share).
    by_rank = sorted(g.nodes(data=True), key=lambda kv: kv[1]["rank"])
    top3 = [line.split()[1] for line in table.splitlines()[1:4]]
    assert [attrs["label"].lstrip("@") for _, attrs in by_rank[:3]] == top3
    runner.invoke(main, ["graph", "export", "--format", "gexf", "--brand", "Acme"])
    assert nx.read_gexf(tmp_path / "exports" / "undertow-acme.gexf").number_of_edges() == 10
    csv_out = runner.invoke(main, ["graph", "export", "--format", "csv"]).output
    assert "nodes.csv" in csv_out and "edges.csv" in csv_out
    named = runner.invoke(main, ["graph", "export", "--format", "csv", "--out",
                                 str(tmp_path / "out" / "acme.csv")])
    assert named.exit_code == 0 and (tmp_path / "out" / "acme-nodes.csv").is_file()
    assert (tmp_path / "out" / "acme-edges.csv").is_file()
    bad = runner.invoke(main, ["rank", "--since", "last tuesday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
