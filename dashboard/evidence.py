"""Reading an alert's evidence JSON into tables the Alerts page can draw.

The detector writes evidence as a JSON object; the keys read here are:
``root_post_ids`` [int], ``growth`` [{"t": ISO time, "size": cumulative posts}],
``forecast`` {"final", "low", "high"}, ``influencers`` [{"author_id", "handle", "rank", "role"}],
``path`` [{"source": author id, "target": author id, "kind", "t"}], ``themes``
[{"term", "posts"}], ``coordination`` {"share", "reposts", "coordinated_reposts", "clusters":
[{"cluster", "accounts", "reposts"}]} (``listener.jobs.coordination``). A few spellings of each are accepted so the page survives small changes in
the detector; keys it does not know are shown verbatim as JSON.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

KNOWN = {"root_post_ids", "root_posts", "roots", "growth", "growth_curve", "forecast",
         "influencers", "path", "amplification_path", "themes", "coordination"}


def _first(d: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return default


def root_post_ids(ev: dict[str, Any]) -> list[int]:
    items = _first(ev, "root_post_ids", "root_posts", "roots", default=[])
    out = []
    for item in items if isinstance(items, list) else [items]:
        value = _first(item, "id", "post_id") if isinstance(item, dict) else item
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


def growth(ev: dict[str, Any]) -> pd.DataFrame:
    """Cumulative size over time: columns time (UTC), size."""
    items = _first(ev, "growth", "growth_curve", default=[])
    rows = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            rows.append((_first(item, "t", "time", "at"), _first(item, "size", "count", "posts")))
        elif isinstance(item, list | tuple) and len(item) >= 2:
            rows.append((item[0], item[1]))
    df = pd.DataFrame(rows, columns=["time", "size"]).dropna()
    if df.empty:
        return df
    df["time"] = pd.to_datetime(df["time"], utc=True, errors="coerce")
    df["size"] = pd.to_numeric(df["size"], errors="coerce")
    return df.dropna().sort_values("time").reset_index(drop=True)


def forecast(ev: dict[str, Any]) -> dict[str, float] | None:
    f = ev.get("forecast")
    if not isinstance(f, dict):
        return None
    out = {"final": _first(f, "final", "final_size", "expected", "size"),
           "low": _first(f, "low", "lower"), "high": _first(f, "high", "upper")}
    try:
        return {k: None if v is None else float(v) for k, v in out.items()}
    except (TypeError, ValueError):
        return None


def influencers(ev: dict[str, Any]) -> pd.DataFrame:
    items = ev.get("influencers") or []
    rows = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            rows.append({"author_id": _first(item, "author_id", "id"),
                         "handle": item.get("handle"), "rank": item.get("rank"),
                         "role": item.get("role")})
        else:
            rows.append({"author_id": item, "handle": None, "rank": None, "role": None})
    return pd.DataFrame(rows, columns=["author_id", "handle", "rank", "role"])


def path(ev: dict[str, Any]) -> pd.DataFrame:
    """Amplification steps named in the evidence: source amplified target."""
    items = _first(ev, "path", "amplification_path", default=[])
    rows = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            rows.append((_first(item, "source", "from"), _first(item, "target", "to"),
                         item.get("kind"), _first(item, "t", "time")))
        elif isinstance(item, list | tuple) and len(item) >= 2:
            rows.append((item[0], item[1], None, None))
    return pd.DataFrame(rows, columns=["source", "target", "kind", "time"])


def themes(ev: dict[str, Any]) -> pd.DataFrame:
    items = ev.get("themes") or []
    if isinstance(items, dict):
        items = [{"term": k, "posts": v} for k, v in items.items()]
    rows = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            rows.append((_first(item, "term", "theme", "reason"),
                         _first(item, "posts", "count", "weight")))
        else:
            rows.append((item, None))
    return pd.DataFrame(rows, columns=["theme", "posts"])


def other(ev: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ev.items() if k not in KNOWN}


def coordination(ev: dict[str, Any]) -> dict[str, Any] | None:
    """Share of the story's reposts from lock-step clusters, and the clusters; None if absent."""
    c = ev.get("coordination")
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
