"""An alert's `Evidence` as the tables and numbers the Alerts page draws.

The evidence is read by `listener.alerts.evidence.Evidence` (one spelling of every key, the one
the detect job writes), so the page says what the emails and chat posts say.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from listener.alerts.evidence import Evidence

__all__ = ["forecast", "growth", "influencers", "path", "read", "themes"]


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
