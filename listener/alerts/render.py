"""Alert emails: multipart plain text + HTML with the growth chart inline.

Post text and author names are untrusted: the HTML part escapes every one of them.
Evidence shape (written by the detect job, read by the dashboard too): reasons [str],
root_posts [{id, author, text, url, created_at, reposts}], influencers [{author_id, handle,
followers, rank, role}], growth [{t: ISO time, size: cumulative reposts/quotes/replies}],
forecast {final, low, high}, themes [{term, posts}], path [{source, target, kind, t}].
"""

from __future__ import annotations

import hashlib
import html
import io
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from listener.inert import one_line
from listener.store.alerts import Alert


def _minutes(growth: list[dict]) -> tuple[list[float], list[float]]:
    times = [datetime.fromisoformat(str(p["t"]).replace("Z", "+00:00")) for p in growth]
    start = min(times)
    return [(t - start).total_seconds() / 60 for t in times], [float(p["size"]) for p in growth]


def growth_chart_png(growth: list[dict], forecast: dict | None) -> bytes | None:
    """A small PNG of the story's cumulative reposts/replies over time, with the forecast band."""
    if not growth:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    xs, ys = _minutes(growth)
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    ax.step(xs, ys, where="post", color="#c0392b", label="observed")
    if forecast and forecast.get("final"):
        ax.axhline(forecast["final"], color="#7f8c8d", linestyle="--", label="forecast final size")
        if forecast.get("low") is not None and forecast.get("high") is not None:
            ax.axhspan(forecast["low"], forecast["high"], color="#bdc3c7", alpha=0.4)
    ax.set_xlabel("minutes since the first post")
    ax.set_ylabel("reposts + replies")
    ax.set_title("Growth of the story")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _plain(alert: Alert, link: str) -> str:
    ev = alert.evidence
    lines = [f"[{alert.level.upper()}] {alert.brand}: {alert.title}",
             f"Status: {alert.status}; severity {alert.severity:.2f}; opened "
             f"{alert.opened_at:%Y-%m-%d %H:%M} UTC", ""]
    if ev.get("reasons"):
        lines += ["Why:"] + [f"  - {r}" for r in ev["reasons"]] + [""]
    fc = ev.get("forecast") or {}
    if fc.get("final"):
        lines.append(f"Forecast final size: {fc['final']:,.0f} (likely {fc.get('low') or 0:,.0f}-"
                     f"{fc.get('high') or 0:,.0f})")
    if ev.get("themes"):
        lines.append("Main complaints: " + ", ".join(
            f"{t['term']} ({t['posts']})" for t in ev["themes"][:5]))
    lines += ["", "Top posts:"]
    for p in (ev.get("root_posts") or [])[:5]:
        lines.append(f"  @{p.get('author')}: {p.get('text')}")
        if p.get("url"):
            lines.append(f"    {p['url']}")
    if ev.get("influencers"):
        lines += ["", "Influencers involved:"] + [
            f"  @{i.get('handle')} ({(i.get('followers') or 0):,} followers, rank {i.get('rank')})"
            for i in ev["influencers"][:10]]
    lines += ["", f"Open in the dashboard: {link}"]
    return "\n".join(lines)


def _html(alert: Alert, link: str, chart_cid: str | None) -> str:
    e = html.escape
    ev = alert.evidence
    colour = {"high": "#c0392b", "medium": "#e67e22", "low": "#7f8c8d"}[alert.level]
    parts = [
        "<html><body style='font-family:sans-serif;max-width:640px'>",
        f"<h2 style='color:{colour}'>{e(alert.level.upper())} &middot; {e(alert.brand)}</h2>",
        f"<p><b>{e(alert.title)}</b><br>Status {e(alert.status)}, severity "
        f"{alert.severity:.2f}, opened {alert.opened_at:%Y-%m-%d %H:%M} UTC</p>",
    ]
    if ev.get("reasons"):
        parts.append("<ul>" + "".join(f"<li>{e(str(r))}</li>" for r in ev["reasons"]) + "</ul>")
    if chart_cid:
        parts.append(f"<img src='cid:{chart_cid[1:-1]}' alt='growth chart' width='600'>")
    fc = ev.get("forecast") or {}
    if fc.get("final"):
        parts.append(f"<p>Forecast final size <b>{fc['final']:,.0f}</b> (likely "
                     f"{fc.get('low') or 0:,.0f}&ndash;{fc.get('high') or 0:,.0f}).</p>")
    if ev.get("themes"):
        parts.append("<p>Main complaints: " + ", ".join(
            f"{e(str(t['term']))} ({int(t['posts'])})" for t in ev["themes"][:5]) + "</p>")
    parts.append("<h3>Top posts</h3>")
    for p in (ev.get("root_posts") or [])[:5]:
        url = p.get("url")
        author = e(f"@{p.get('author')}")
        if url and str(url).startswith(("https://", "http://")):
            author = f"<a href='{e(url, quote=True)}'>{author}</a>"
        parts.append(f"<blockquote>{author}: {e(str(p.get('text', '')))}</blockquote>")
    if ev.get("influencers"):
        parts.append("<h3>Influencers involved</h3><ul>" + "".join(
            f"<li>{e('@' + str(i.get('handle')))} &middot; {(i.get('followers') or 0):,} followers"
            f" &middot; rank {e(str(i.get('rank')))}</li>" for i in ev["influencers"][:10]) + "</ul>")
    parts.append(f"<p><a href='{e(link, quote=True)}'>Open this alert in the dashboard</a></p>")
    parts.append("</body></html>")
    return "".join(parts)


def _message_id(key: str, recipient: str) -> str:
    """The same for every send of one message to one recipient, in any process (str hash() is
    salted per process, so it cannot make a resend recognisable)."""
    tag = hashlib.blake2b(recipient.lower().encode(), digest_size=5).hexdigest()
    return f"<{key}.{tag}@undertow>"


def alert_message(alert: Alert, sender: str, recipient: str, dashboard_url: str,
                  message_key: str) -> EmailMessage:
    """One alert email; `message_key` makes the Message-ID stable so a resend is recognisable."""
    link = f"{dashboard_url.rstrip('/')}/?alert={alert.id}"
    msg = EmailMessage()
    msg["Subject"] = one_line(f"[Undertow {alert.level}] {alert.brand}: {alert.title}")[:200]
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _message_id(message_key.replace(":", "."), recipient)
    msg["X-Undertow-Alert"] = str(alert.id)
    msg.set_content(_plain(alert, link))
    png = growth_chart_png(alert.evidence.get("growth") or [], alert.evidence.get("forecast"))
    cid = make_msgid(domain="undertow") if png else None
    msg.add_alternative(_html(alert, link, cid), subtype="html")
    if png:
        msg.get_payload()[1].add_related(png, maintype="image", subtype="png", cid=cid)
    return msg


def digest_message(alerts: list[Alert], sender: str, recipient: str, dashboard_url: str,
                   day: str, sections: list[tuple[list[str], str]] = ()) -> EmailMessage:
    """The daily digest: every alert opened or updated in the last day, most severe first.

    `sections` are more (plain lines, HTML fragment) pairs, e.g. the service KPIs.
    """
    e = html.escape
    msg = EmailMessage()
    msg["Subject"] = one_line(f"[Undertow] Daily digest {day}: {len(alerts)} alerts")
    msg["From"], msg["To"] = sender, recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _message_id(f"digest.{day}", recipient)
    base = dashboard_url.rstrip("/")
    msg.set_content("\n".join(
        [f"Undertow daily digest for {day}", ""]
        + ([f"[{a.level}] {a.brand}: {a.title} ({a.status}) {base}/?alert={a.id}" for a in alerts]
           or ["No alerts."])
        + [line for plain, _ in sections for line in ["", *plain]]))
    rows = "".join(
        f"<tr><td>{e(a.level)}</td><td>{e(a.brand)}</td><td><a href='{e(base, quote=True)}/?alert="
        f"{a.id}'>{e(a.title)}</a></td><td>{e(a.status)}</td></tr>" for a in alerts)
    extra = "".join(fragment for _, fragment in sections)
    msg.add_alternative(f"<html><body><h2>Undertow daily digest {e(day)}</h2><table>{rows}"
                        f"</table>{extra}</body></html>", subtype="html")
    return msg
