"""The dashboard's pure parts: graph view and exports, complaint themes, evidence, the command."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import altair as alt
import networkx as nx
import pandas as pd
import pytest
from click.testing import CliRunner

from dashboard import evidence, graphview
from dashboard.state import md
from dashboard.themes import complaint_themes
from listener.cli import main
from listener.cli.dashboard import streamlit_argv


def star_edges(n: int) -> pd.DataFrame:
    """n amplifiers of author 0, and a chain 100 -> 101 -> 102."""
    rows = [(i, 0, "repost", 1) for i in range(1, n + 1)]
    rows += [(100, 101, "quote", 2), (101, 102, "reply", 1), (101, 102, "repost", 1)]
    return pd.DataFrame(rows, columns=["source", "target", "kind", "weight"])


def test_graph_view_keeps_the_busiest_authors_and_the_focus():
    g = graphview.build(star_edges(30), cap=5)
    assert 0 in g and g.number_of_nodes() == 5
    focused = graphview.build(star_edges(30), cap=5, focus=102)
    assert 102 in focused
    full = graphview.build(star_edges(3), cap=100)
    assert full[101][102] == {"weight": 2, "kinds": "reply,repost"}


def test_graph_view_colours_sizes_and_exports(tmp_path):
    g = graphview.build(star_edges(8), cap=100)
    nodes = pd.DataFrame({"author_id": [0, 100], "handle": ["hub", "<b>x</b>"],
                          "followers": [10, None], "influence": [0.9, None],
                          "community": [None, None]})
    graphview.decorate(g, nodes)
    assert g.nodes[0]["handle"] == "hub" and g.nodes[0]["amplified"] == 8
    assert g.nodes[0]["community"] != g.nodes[100]["community"]  # Louvain: two components
    table, lines = graphview.frames(g)
    assert len(table) == g.number_of_nodes() and len(lines) == g.number_of_edges()
    # Communities are named by their leading handles, the influential one first.
    assert table.set_index("handle").loc["hub", "community"].startswith("@hub")
    assert table.set_index("handle").loc["<b>x</b>", "community"] == "@101, @102"  # most amplified
    assert not any(c.startswith("Community") for c in table["community"])
    chart = graphview.chart(table, lines, "Influence", "t")
    json.dumps(chart, allow_nan=False)  # what Streamlit sends: plain JSON, no NaN
    # The written-out spec is valid Vega-Lite: the schema Altair validates with accepts it.
    alt.LayerChart.from_dict(chart, validate=True)
    marks = {layer["mark"]["type"]: layer for layer in chart["layer"]}
    assert marks["circle"]["encoding"]["size"]["field"] == "size"
    assert marks["circle"]["encoding"]["color"]["field"] == "community"
    assert "hub" in {r["label"] for r in chart["datasets"][marks["text"]["data"]["name"]]}
    for fmt, read in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        back = read(io.BytesIO(graphview.export(g, fmt)))
        assert back.number_of_nodes() == g.number_of_nodes()
        assert back.nodes["0"]["label"] == "hub" and back.nodes["0"]["influence"] == 0.9
        assert back.nodes["100"]["label"] == "<b>x</b>"  # escaped by the XML writer, intact
        assert back["101"]["102"]["weight"] == 2.0


def test_complaint_themes_prefer_what_negative_posts_say_more():
    negative = ["@united lost luggage"] * 6 + ["flight delayed, united"] * 4
    others = ["great flight and crew"] * 10 + ["flight on time"] * 5
    df = complaint_themes(negative, others, skip=["united"])
    assert list(df["term"]) == ["lost luggage", "flight delayed"]  # phrases win ties
    assert list(df["posts"]) == [6, 4]
    assert complaint_themes([], others).empty
    # A retweet wave is one text: it does not outvote what people wrote themselves.
    wave = ["RT @OneRepublic: Studio at 45,000 ft. One outlet, 4 computers"] * 50 + [
        f"RT @fan{i}: RT @OneRepublic: Studio at 45,000 ft. One outlet, 4 computers"
        for i in range(10)]
    df = complaint_themes(negative + wave, others, skip=["united"])
    assert "outlet computers" not in set(df["term"]) and list(df["posts"][:2]) == [6, 4]


def test_evidence_reads_its_one_spelling_and_skips_what_is_malformed():
    ev = evidence.read({
        "root_posts": [{"id": "12"}, {"id": 13}, {"id": "x"}, 14],
        "growth": [{"t": "2026-01-01T00:10:00Z", "size": 5}, {"t": "2026-01-01T00:00:00Z",
                                                              "size": 1}, {"t": "never"}],
        "forecast": {"final": 40, "low": 30, "high": "55"},
        "influencers": [{"author_id": 8, "handle": "h", "rank": 2, "role": "amplifier"}, 7],
        "path": [{"source": 2, "target": 3, "kind": "quote"}],
        "themes": [{"term": "late", "posts": 3}], "volume_z": 4.5})
    assert ev.root_post_ids == [12, 13]
    assert list(evidence.growth(ev)["size"]) == [1, 5]
    assert evidence.forecast(ev) == {"final": 40.0, "low": 30.0, "high": 55.0}
    assert list(evidence.influencers(ev)["author_id"]) == [8]
    assert list(evidence.path(ev)["target"]) == [3]
    assert evidence.themes(ev).to_dict("records") == [{"theme": "late", "posts": 3}]
    assert ev.extra == {"volume_z": 4.5}
    assert evidence.growth(evidence.read({})).empty
    assert evidence.forecast(evidence.read({"forecast": 3})) is None


def test_markdown_escaping_leaves_nothing_active():
    out = md("<img src=x onerror=alert(1)> **b** [l](javascript:x) ![i](http://e/x.png) $x$")
    assert re.search(r"(?<!\\)[<>*\[\]()!$:]", out) is None  # every active mark escaped
    assert out.replace("\\", "").replace("\u2060", "") == (  # word joiners break autolinks
        "<img src=x onerror=alert(1)> **b** [l](javascript:x) ![i](http://e/x.png) $x$")


def test_command_runs_streamlit_headless_on_the_configured_database(monkeypatch, tmp_path):
    argv = streamlit_argv(8600, "127.0.0.1")
    assert argv[-12:] == ["--server.port", "8600", "--server.address", "127.0.0.1",
                          "--server.headless", "true", "--server.fileWatcherType", "none",
                          "--browser.gatherUsageStats", "false", "--client.toolbarMode",
                          "viewer"]
    seen = {}

    def fake_call(args, env):
        seen.update(args=args, url=env["UNDERTOW_DATABASE_URL"])
        return 0

    monkeypatch.setattr("listener.cli.dashboard.run_streamlit", fake_call)
    url = f"sqlite:///{tmp_path / 'u.db'}"
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["dashboard", "--port", "8600"])
    assert result.exit_code == 0, result.output
    assert "http://localhost:8600" in result.output
    assert seen["url"] == url and "8600" in seen["args"]


def test_command_fails_clearly_on_a_bad_database(monkeypatch):
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", "nosuchdb://x")
    result = CliRunner().invoke(main, ["dashboard"])
    assert result.exit_code == 1 and "Error:" in result.output
    assert "--port" in CliRunner().invoke(main, ["dashboard", "--help"]).output


def test_kill_stops_the_server_the_command_started(tmp_path):
    """`kill PID` on `undertow dashboard` must not leave Streamlit serving the port."""
    pid_file = tmp_path / "child.pid"
    server = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    runner = ("import sys; from listener.cli.dashboard import run_streamlit; "
              f"sys.exit(run_streamlit([sys.executable, '-c', {server!r}], dict(__import__('os').environ)))")
    parent = subprocess.Popen([sys.executable, "-c", runner], cwd=Path(__file__).parents[2])
    for _ in range(600):  # a generous wait for start-up: the machine may be busy
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    parent.wait(timeout=10)
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the server outlived the command")


def test_evidence_reads_the_coordination_share():
    ev = {"coordination": {"share": 0.25, "reposts": 40, "coordinated_reposts": 10,
                           "clusters": [{"cluster": 0, "accounts": [1, 2, 3], "reposts": 10}]}}
    read = evidence.read(ev)  # the stored JSON, as the Alerts page reads it
    co = evidence.coordination(read)
    assert co["share"] == 0.25 and co["reposts"] == 40
    assert co["clusters"].to_dict("records") == [{"cluster": 0, "accounts": 3, "reposts": 10}]
    assert set(read.extra) == {"coordination"}  # its own section, not "Other evidence"
    assert evidence.coordination({}) is None
    assert evidence.coordination({"coordination": {"share": "x"}}) is None


def test_the_charts_streamlit_renders_unchecked_are_valid_vega_lite():
    """charts.unchecked() lets Streamlit skip the schema on every render: the schema is
    checked here instead, on each builder it wraps (a wrong encoding raises)."""
    import altair as alt

    from dashboard import charts

    t = pd.date_range("2026-01-05", periods=4, freq="h", tz="UTC")
    vol = pd.DataFrame({"brand": ["Acme", "Globex"] * 2, "time": t, "posts": [3, 1, 4, 1]})
    marks = pd.DataFrame({"brand": ["Acme"], "title": ["spike"], "severity": [0.9],
                          "time": [t[1]]})
    sent = pd.DataFrame({"label": ["negative", "neutral", "positive", "negative"], "time": t,
                         "posts": [2, 1, 1, 3]})
    voice = pd.DataFrame({"brand": ["Acme", "Globex"], "group": ["shops"] * 2,
                          "posts": [7, 3], "share": [0.7, 0.3]})
    net = pd.DataFrame({"brand": ["Acme", "Globex"], "net": [-0.2, 0.1], "scored": [10, 5]})
    built = [charts.volume(vol, "hour", marks, (t[0], t[-1]), ["Acme", "Globex"], ["Acme"]),
             charts.sentiment(sent, "hour", "m1", (t[0], t[-1])),
             charts.share_of_voice(voice, "shops", ["Acme", "Globex"], ["Acme"]),
             charts.net_sentiment(net),
             charts.themes(pd.DataFrame({"term": ["lost luggage"], "posts": [4], "share": [0.5],
                                         "lift": [3.0]}), "Words", "sample")]
    for chart in built:
        assert chart.to_dict()["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        chart.to_dict(validate=True)  # raises on a spec the schema refuses
    # The conditional channels are built without alt.condition (its dict is resolved against
    # the schema's alternatives on every render) and say the same.
    pred = alt.FieldOneOfPredicate("brand", ["Acme"])
    for built_one, channel, same in (
            (built[0].layer[0], "opacity", alt.condition(pred, alt.value(1.0),
                                                         alt.value(charts.MUTED))),
            (built[0].layer[0], "strokeWidth", alt.condition(pred, alt.value(2.5),
                                                             alt.value(1.2))),
            (built[3], "color", alt.condition("datum.net < 0", alt.value("#d62728"),
                                              alt.value("#2ca02c")))):
        expected = alt.Chart(vol).mark_line().encode(**{channel: same}).to_dict()["encoding"]
        assert built_one.to_dict()["encoding"][channel] == expected[channel]
    broken = charts.unchecked(alt.Chart(vol).mark_line().encode(x="time:T", y="posts:Q"))
    broken["height"] = "tall"
    broken.to_dict()  # unchecked: no error here...
    with pytest.raises(Exception, match="tall"):
        broken.to_dict(validate=True)  # ...but the check used above would catch it
