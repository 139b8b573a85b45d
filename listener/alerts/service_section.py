"""The digest's service section: yesterday's response rate and first-response times per brand.

Its own module so the digest's layout can change without touching it: it takes the KPIs
(`listener.jobs.engagement.service`) and returns the section as plain-text lines and an HTML
fragment. Brand names are the user's own text, escaped like everything else in the email.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from graph.service import ServiceKpis

__all__ = ["service_section"]


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} min" if value < 120 else f"{value / 60:,.1f} h"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def service_section(brands: Mapping[str, ServiceKpis], groups: Mapping[str, ServiceKpis],
                    without_accounts: list[str], dashboard_url: str,
                    period: str) -> tuple[list[str], str]:
    """(plain-text lines, HTML) for the KPIs of the cases opened in `period`."""
    rows = [(name, k) for name, k in brands.items()] + \
        [(f"group {name}", k) for name, k in groups.items()]
    link = dashboard_url.rstrip("/") + "/engagement"
    lines = [f"Customer service, {period}:"]
    if not rows:
        lines.append("  No brands.")
    for name, k in rows:
        lines.append(
            f"  {name}: {k.answered:,} of {k.counted:,} cases answered "
            f"({_pct(k.response_rate)}), median first response "
            f"{_minutes(k.median_first_response_min)}, 90th percentile "
            f"{_minutes(k.p90_first_response_min)}, {_pct(k.answered_within_1h)} within 1 h, "
            f"{k.unanswered_high_risk:,} high-risk posts unanswered")
    if without_accounts:
        lines.append(f"  No own accounts for {', '.join(without_accounts)}: their answers are "
                     "not seen.")
    lines.append(f"  The unanswered queue: {link}")
    e = html.escape
    cells = "".join(
        f"<tr><td>{e(name)}</td><td>{k.answered:,} / {k.counted:,}</td>"
        f"<td>{_pct(k.response_rate)}</td><td>{_minutes(k.median_first_response_min)}</td>"
        f"<td>{_minutes(k.p90_first_response_min)}</td><td>{_pct(k.answered_within_1h)}</td>"
        f"<td>{k.unanswered_high_risk:,}</td></tr>" for name, k in rows)
    note = (f"<p>No own accounts for {e(', '.join(without_accounts))}: their answers are not "
            "seen.</p>" if without_accounts else "")
    fragment = (
        f"<h3>Customer service, {e(period)}</h3><table><tr><th>brand</th><th>answered</th>"
        "<th>response rate</th><th>median first response</th><th>90th percentile</th>"
        "<th>within 1 h</th><th>high-risk unanswered</th></tr>"
        f"{cells}</table>{note}<p><a href='{e(link, quote=True)}'>The unanswered queue</a></p>")
    return lines, fragment
