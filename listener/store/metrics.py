"""What an operator watches: how much is stored, how much is still waiting, and each source's
last pass (kept in `meta`, so `undertow status` in another process sees what `listen` did).

The counts use the store's indexes; the unscored backlog is one anti-join over the posts, which
the health endpoint caches for a few seconds rather than running it on every scrape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from listener.post import utcnow
from listener.store import Store, schema
from listener.store.scores import count_unscored, current_model_version

__all__ = ["Backlog", "backlog", "record_source_pass", "source_passes"]

SOURCE_KEY = "source_pass:"  # one meta row per source: several listeners never overwrite


@dataclass(frozen=True)
class Backlog:
    """Work waiting downstream of collection: a growing number means the pipeline lags."""

    posts: int
    unscored: int  # posts without a score of the current model
    model_version: str | None
    alerts_open: dict[str, int] = field(default_factory=dict)  # by status
    outbox: dict[str, int] = field(default_factory=dict)  # email outbox rows by status
    per_platform: dict[str, int] = field(default_factory=dict)


def backlog(store: Store) -> Backlog:
    a, o, p = schema.alerts, schema.alert_notifications, schema.posts
    with store.engine.connect() as conn:
        version = current_model_version(conn)
        posts = int(conn.execute(select(func.count()).select_from(p)).scalar() or 0)
        per_platform = dict(conn.execute(select(p.c.platform, func.count())
                                         .group_by(p.c.platform)).all())
        alerts = dict(conn.execute(select(a.c.status, func.count()).group_by(a.c.status)).all())
        outbox = dict(conn.execute(select(o.c.status, func.count()).group_by(o.c.status)).all())
    unscored = count_unscored(store, version) if version else posts
    return Backlog(posts, unscored, version, {k: int(v) for k, v in alerts.items()},
                   {k: int(v) for k, v in outbox.items()},
                   {k: int(v) for k, v in per_platform.items()})


def record_source_pass(store: Store, source: str, *, ok: bool, new_posts: int,
                       error: str | None = None) -> None:
    """Remember a source's latest pass (and its latest successful one)."""
    now = utcnow().isoformat()
    entry = source_passes(store).get(source, {})
    entry.update(last_pass=now, last_ok=ok, last_new_posts=new_posts,
                 last_error=None if ok else (error or "failed")[:300])
    if ok:
        entry["last_success"] = now
    store.set_meta({SOURCE_KEY + source: json.dumps(entry, sort_keys=True)})


def source_passes(store: Store) -> dict[str, dict[str, Any]]:
    """source name -> its last pass, last success, new posts and error."""
    m = schema.meta
    with store.engine.connect() as conn:
        rows = conn.execute(select(m.c.key, m.c.value).where(m.c.key.like(SOURCE_KEY + "%")))
        out = {}
        for key, raw in rows:
            try:
                out[key[len(SOURCE_KEY):]] = json.loads(raw)
            except ValueError:
                continue
    return out
