"""`undertow` pipeline stage: flag accounts that amplify in lock-step, for the alerts to show.

Reads every stored repost and quote (`listener.store.influence.edge_columns`), runs
`graph.coordination.find_coordination` over the whole history (the item is the reposted post,
or the reposted author where the post is not known), and keeps the flagged accounts and their
clusters in the store's meta table. `story_coordination` then says, for an alert, what share of
its amplification came from those clusters (the `coordination` field of the alert evidence).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from listener.store import Store
from listener.store.coordination import amplifiers_of
from listener.store.influence import edge_columns

META_KEY = "coordination"


@dataclass
class CoordinationReport:
    reposts: int
    flagged: int
    clusters: int
    seconds: float


def flag(store: Store) -> CoordinationReport:
    """Recompute the flag over the stored history and save it (replacing the previous one)."""
    from graph.coordination import find_coordination

    started = time.monotonic()
    cols = edge_columns(store)
    kinds = np.asarray(cols.kind if cols else [], dtype=object)
    chosen = np.isin(kinds, ("repost", "quote")) if cols else np.zeros(0, dtype=bool)
    if not chosen.any():
        store.set_meta({META_KEY: json.dumps({"clusters": []})})
        return CoordinationReport(0, 0, 0, time.monotonic() - started)
    # Post ids and author ids come from different id spaces: a negative author id as the item
    # cannot collide with a post id (stable ids are positive).
    item = np.where(cols.target_post[chosen] >= 0, cols.target_post[chosen],
                    -1 - cols.target[chosen])
    found = find_coordination(cols.source[chosen], item, cols.created_at[chosen])
    clusters = [c.tolist() for c in found.clusters()]
    store.set_meta({META_KEY: json.dumps({"clusters": clusters})})
    return CoordinationReport(int(chosen.sum()), int(len(found.flagged)), len(clusters),
                              time.monotonic() - started)


def flagged_clusters(store: Store) -> dict[int, int]:
    """Account id -> cluster number, from the last `flag` run (empty before the first)."""
    saved = store.get_meta(META_KEY)
    clusters = json.loads(saved)["clusters"] if saved else []
    return {int(a): n for n, members in enumerate(clusters) for a in members}


def story_coordination(store: Store, root_post_ids, clusters: dict[int, int] | None = None
                       ) -> dict:
    """The `coordination` evidence of a story: share of its reposts from flagged clusters."""
    clusters = flagged_clusters(store) if clusters is None else clusters
    amplifiers = amplifiers_of(store, list(root_post_ids))
    hits = [clusters[a] for a in amplifiers if a in clusters]
    by_cluster: dict[int, set[int]] = {}
    for a in amplifiers:
        if a in clusters:
            by_cluster.setdefault(clusters[a], set()).add(a)
    return {
        "share": round(len(hits) / len(amplifiers), 4) if amplifiers else 0.0,
        "reposts": len(amplifiers),
        "coordinated_reposts": len(hits),
        "clusters": [{"cluster": c, "accounts": sorted(m), "reposts": hits.count(c)}
                     for c, m in sorted(by_cluster.items(), key=lambda kv: -hits.count(kv[0]))],
    }


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    report = flag(store)
    echo(f"Coordination: {report.flagged:,} accounts in {report.clusters:,} lock-step clusters "
         f"among {report.reposts:,} reposts, in {report.seconds:.1f} s.")
