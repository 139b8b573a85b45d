"""An alert's `Evidence` as the tables and numbers the Alerts page draws.

The evidence is read by `listener.alerts.evidence.Evidence` (one spelling of every key, the one
the detect job writes), so the page says what the emails and chat posts say.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from listener.alerts.evidence import Evidence

__all__ = ["coordination", "forecast", "growth", "influencers", "path", "read", "themes"]


def read(stored: dict[str, Any] | None, story_key: str = "") -> Evidence:
    return Evidence.from_json(stored, story_key)


def growth(ev: Evidence) -> pd.DataFrame:
    """Cumulative size over time: columns time (UTC), size."""
    return pd.DataFrame({"time": pd.to_datetime([p.t for p in ev.growth], utc=True),
                         "size": [p.size for p in ev.growth]})


def forecast(ev: Evidence) -> dict[str, float | None] | None:
    f = ev.forecast
    return None if f is None else {"final": f.final, "low": f.low, "high": f.high}


def influencers(ev: Evidence) -> pd.DataFrame:
    return pd.DataFrame([(i.author_id, i.handle, i.rank, i.role) for i in ev.influencers],
                        columns=["author_id", "handle", "rank", "role"])


def path(ev: Evidence) -> pd.DataFrame:
    """Amplification steps named in the evidence: source amplified target."""
    return pd.DataFrame([(s.source, s.target, s.kind, s.t) for s in ev.path],
                        columns=["source", "target", "kind", "time"])


def themes(ev: Evidence) -> pd.DataFrame:
    return pd.DataFrame([(t.term, t.posts) for t in ev.themes], columns=["theme", "posts"])


def coordination(ev: Evidence | dict[str, Any]) -> dict[str, Any] | None:
    """Share of the story's reposts from lock-step clusters, and the clusters; None if absent
    (``listener.jobs.coordination`` writes it beside the detector's evidence)."""
    c = (ev if isinstance(ev, dict) else ev.extra).get("coordination")
    if not isinstance(c, dict):
        return None
    try:
        share, reposts = float(c.get("share") or 0.0), int(c.get("reposts") or 0)
    except (TypeError, ValueError):
        return None
    clusters = pd.DataFrame(
        [{"cluster": x.get("cluster"), "accounts": len(x.get("accounts") or []),
          "reposts": x.get("reposts")} for x in c.get("clusters") or [] if isinstance(x, dict)],
        columns=["cluster", "accounts", "reposts"])
    return {"share": share, "reposts": reposts, "clusters": clusters}
