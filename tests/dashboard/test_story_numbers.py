"""One story, one set of numbers: the detector's title and evidence, the alert email, the
Alerts page, the graph explorer's cascade and the demo banner agree on its reactions."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from dash_seed import make_app

from dashboard import queries
from listener import story_numbers
from listener.alerts.render import alert_message
from listener.jobs.detect import detect
from listener.store.alerts import list_alerts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from test_detect import cascade  # noqa: E402  (root + 119 reposts of one complaint)


def test_banner_alert_email_and_graph_agree_on_a_seeded_story(tmp_path, monkeypatch):
    from listener.store import Store

    url = f"sqlite:///{tmp_path / 'story.db'}"
    store = Store.open(url)
    store.add_brand("Acme", "@acme")
    cascade(store, 0, 120)
    detect(store)
    [alert] = list_alerts(store)
    store.set_meta({"demo": "1", "demo_facts": json.dumps({"story_post": "root"})})

    expected = 119  # reposts of the root: its cascade's reactions
    assert f"{expected} reactions" in alert.title
    assert story_numbers.from_evidence(alert.evidence).reactions == expected
    mail = alert_message(alert, "undertow@localhost", "team@localhost", "http://dash", "k")
    assert f"{expected} reactions" in mail["Subject"]
    edges = queries.cascade_edges(store.engine, alert.evidence["root_post_ids"]
                                  if "root_post_ids" in alert.evidence else
                                  [p["id"] for p in alert.evidence["root_posts"]])
    assert story_numbers.from_edges(edges["weight"]).reactions == expected
    assert queries.story_reactions(store.engine, "x", "root").reactions == expected

    monkeypatch.setenv("UNDERTOW_DATABASE_URL", url)
    monkeypatch.delenv("UNDERTOW_DASHBOARD_PASSWORD", raising=False)
    at = make_app()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    banner = at.warning[0].value
    assert re.search(rf"\b{expected} reactions\b", banner), banner
    at.switch_page("views/alerts.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Reactions"] == str(expected)
    assert any(f"reacted {expected} times" in c.value for c in at.caption)
    store.close()
