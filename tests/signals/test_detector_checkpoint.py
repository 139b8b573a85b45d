"""Checkpoints written by the positional-list state (before the named state types) still load."""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict
from pathlib import Path

from graph.detector import Detector, DetectorConfig, SignalPost
from graph.severity import load_severity_model

FIXTURE = Path(__file__).parents[1] / "fixtures" / "detector" / "checkpoint_v1.json.gz"


def _fixture() -> dict:
    with gzip.open(FIXTURE, "rt") as f:
        return json.load(f)


def _post(d: dict) -> SignalPost:
    return SignalPost(**{**d, "themes": tuple(d["themes"])})


def _without_audience(state: str) -> dict:
    d = json.loads(state)
    assert d.pop("audience")["sizes"] == []  # no cascade is forgotten in 2.5 days
    return d


def test_an_old_checkpoint_resumes_to_the_stories_the_old_code_found(tmp_path):
    """tests/fixtures/detector/make_checkpoint_v1.py wrote the checkpoint, the posts after it
    and what the old code had after reading them: a cascade whose root arrives after the cut
    (late), a burst open at the cut, cascades not evaluated since their last reactions. With
    the forecast and the severity model the old code had (no audience history), the same
    stories and state."""
    data = _fixture()
    path = tmp_path / "severity.json"
    path.write_text(json.dumps(data["severity_model"]))
    old = data["checkpoint"]
    assert old["version"] == 1 and old["bursts"] and old["unevaluated"]
    config = DetectorConfig(audience_history=False)
    det = Detector.from_json(json.dumps(old), config, severity_model=load_severity_model(path))
    assert _without_audience(det.to_json()) == old  # the same layout, field for field
    det.process([_post(p) for p in data["after"]])
    stories = json.loads(json.dumps([asdict(s) for s in det.stories]))  # tuples as lists
    assert stories == data["stories"]
    assert [s["status"] for s in stories] == ["quiet"] * 4
    assert _without_audience(det.to_json()) == data["state"]


def test_an_old_checkpoint_resumes_like_an_unbroken_run():
    """With today's forecast, resuming the old checkpoint finds what one run over the same
    posts finds."""
    data = _fixture()
    after = [_post(p) for p in data["after"]]
    det = Detector.from_json(json.dumps(data["checkpoint"]))
    det.process(after)
    before = [_post(p) for p in data["before"]]
    straight = Detector()
    straight.process(before + after)
    assert det.to_json() == straight.to_json()
    assert [s.id for s in det.stories] == [s["id"] for s in data["stories"]]


def test_named_state_reads_like_the_old_lists():
    data = _fixture()
    det = Detector.from_json(json.dumps(data["checkpoint"]))
    key, row = next(iter(data["checkpoint"]["posts"].items()))
    post = det._posts[key]
    assert [post.brand, post.at, post.negative, post.author, post.root, post.id,
            post.themes] == row  # fmt: skip
    c = det._cascades["lr"]  # its root not seen yet at the cut
    assert c.root_negative is None and c.events[0].minutes >= 0
    assert [[e.minutes, e.author, e.followers, e.parent_minutes] for e in c.events] == \
        data["checkpoint"]["cascades"]["lr"]["events"]
