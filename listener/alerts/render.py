"""Alert emails: multipart plain text + HTML with the growth chart inline.

Post text and author names are untrusted: the HTML part escapes every one of them. What an
email says about the story comes from `listener.alerts.evidence.Evidence`, as in chat posts
and on the dashboard.
"""

from __future__ import annotations

import hashlib
import html
import io
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from graph.levels import level, named
from listener.alerts.evidence import Evidence, Forecast, GrowthPoint
from listener.inert import one_line
from listener.store.alerts import Alert


def _minutes(growth: tuple[GrowthPoint, ...]) -> tuple[list[float], list[float]]:
    start = growth[0].t
    return [(p.t - start).total_seconds() / 60 for p in growth], [float(p.size) for p in growth]


def growth_chart_png(growth: tuple[GrowthPoint, ...], forecast: Forecast | None) -> bytes | None:
    """A small PNG of the story's cumulative reposts/replies over time, with the forecast band."""
    if not growth:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    xs, ys = _minutes(growth)
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    ax.step(xs, ys, where="post", color=named("high").colour, label="observed")
    if forecast and forecast.final:
        ax.axhline(forecast.final, color="#7f8c8d", linestyle="--", label="forecast final size")
        if forecast.low is not None and forecast.high is not None:
            ax.axhspan(forecast.low, forecast.high, color="#bdc3c7", alpha=0.4)
    ax.set_xlabel("minutes since the first post")
    ax.set_ylabel("reposts + replies")
    ax.set_title("Growth of the story")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def alert_link(dashboard_url: str, alert_id: int) -> str:
    """The deep link every email and chat post carries: the dashboard opens this alert."""
    return f"{dashboard_url.rstrip('/')}/?alert={int(alert_id)}"


def _forecast_line(fc: Forecast | None) -> str | None:
    if not fc or not fc.final:
        return None
    return (f"Forecast final size: {fc.final:,.0f} (likely {fc.low or 0:,.0f}-"
            f"{fc.high or 0:,.0f})")


def _plain(alert: Alert, ev: Evidence, link: str) -> str:
    lines = [f"[{alert.level.upper()}] {alert.brand}: {alert.title}",
             f"Status: {alert.status}; severity {alert.severity:.2f}; opened "
             f"{alert.opened_at:%Y-%m-%d %H:%M} UTC", ""]
    if reasons := ev.reasons():
        lines += ["Why:"] + [f"  - {r}" for r in reasons] + [""]
    if fc := _forecast_line(ev.forecast):
        lines.append(fc)
    if ev.themes:
        lines.append("Main complaints: " + ", ".join(
            f"{t.term} ({t.posts})" for t in ev.themes[:5]))
    lines += ["", "Top posts:"]
    for p in ev.root_posts[:5]:
        lines.append(f"  @{p.author}: {p.text}")
        if p.url:
            lines.append(f"    {p.url}")
    if ev.influencers:
        lines += ["", "Influencers involved:"] + [
            f"  @{i.handle} ({(i.followers or 0):,} followers, rank {i.rank})"
            for i in ev.influencers[:10]]
    lines += ["", f"Open in the dashboard: {link}"]
    return "\n".join(lines)


def _html(alert: Alert, ev: Evidence, link: str, chart_cid: str | None) -> str:
    e = html.escape
    parts = [
        "<html><body style='font-family:sans-serif;max-width:640px'>",
        f"<h2 style='color:{level(alert.severity).colour}'>{e(alert.level.upper())} &middot; "
        f"{e(alert.brand)}</h2>",
        f"<p><b>{e(alert.title)}</b><br>Status {e(alert.status)}, severity "
        f"{alert.severity:.2f}, opened {alert.opened_at:%Y-%m-%d %H:%M} UTC</p>",
    ]
    if reasons := ev.reasons():
        parts.append("<ul>" + "".join(f"<li>{e(r)}</li>" for r in reasons) + "</ul>")
    if chart_cid:
        parts.append(f"<img src='cid:{chart_cid[1:-1]}' alt='growth chart' width='600'>")
    fc = ev.forecast
    if fc and fc.final:
        parts.append(f"<p>Forecast final size <b>{fc.final:,.0f}</b> (likely "
                     f"{fc.low or 0:,.0f}&ndash;{fc.high or 0:,.0f}).</p>")
    if ev.themes:
        parts.append("<p>Main complaints: " + ", ".join(
            f"{e(t.term)} ({t.posts or 0:,})" for t in ev.themes[:5]) + "</p>")
    parts.append("<h3>Top posts</h3>")
    for p in ev.root_posts[:5]:
        author = e(f"@{p.author}")
        if p.url and p.url.startswith(("https://", "http://")):
            author = f"<a href='{e(p.url, quote=True)}'>{author}</a>"
        parts.append(f"<blockquote>{author}: {e(p.text)}</blockquote>")
    if ev.influencers:
        parts.append("<h3>Influencers involved</h3><ul>" + "".join(
            f"<li>{e('@' + str(i.handle))} &middot; {(i.followers or 0):,} followers"
            f" &middot; rank {e(str(i.rank))}</li>" for i in ev.influencers[:10]) + "</ul>")
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
    link = alert_link(dashboard_url, alert.id)
    ev = Evidence.from_json(alert.evidence, alert.story_key)
    msg = EmailMessage()
    msg["Subject"] = one_line(f"[Undertow {alert.level}] {alert.brand}: {alert.title}")[:200]
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _message_id(message_key.replace(":", "."), recipient)
    msg["X-Undertow-Alert"] = str(alert.id)
    msg.set_content(_plain(alert, ev, link))
    png = growth_chart_png(ev.growth, ev.forecast)
    cid = make_msgid(domain="undertow") if png else None
    msg.add_alternative(_html(alert, ev, link, cid), subtype="html")
    if png:
        msg.get_payload()[1].add_related(png, maintype="image", subtype="png", cid=cid)
    return msg


def digest_message(alerts: list[Alert], sender: str, recipient: str, dashboard_url: str,
                   day: str, sections: list[tuple[list[str], str]] = ()) -> EmailMessage:
    """The daily digest: what is open (and acknowledged but not resolved), most severe first,
    each with its deep link; counted in the subject.

    `sections` are more (plain lines, HTML fragment) pairs, e.g. the service KPIs.
    """
    e = html.escape
    open_ = [a for a in alerts if a.status == "open"]
    seen = [a for a in alerts if a.status == "acknowledged"]
    msg = EmailMessage()
    msg["Subject"] = one_line(f"[Undertow] Daily digest {day}: {len(open_):,} open alerts"
                      + (f", {len(seen):,} acknowledged" if seen else ""))
    msg["From"], msg["To"] = sender, recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _message_id(f"digest.{day}", recipient)

    def who(a: Alert) -> str:
        return f", acknowledged by {a.acknowledged_by}" if a.acknowledged_by else ""

    plain = [f"Undertow daily digest for {day}", "", f"Open alerts ({len(open_):,}):"]
    plain += ([f"  [{a.level}] {a.brand}: {a.title} {alert_link(dashboard_url, a.id)}"
               for a in open_] or ["  No open alerts."])
    if seen:
        plain += ["", f"Acknowledged, not resolved ({len(seen):,}):"] + [
            f"  [{a.level}] {a.brand}: {a.title}{who(a)} {alert_link(dashboard_url, a.id)}"
            for a in seen]
    msg.set_content("\n".join(plain + [line for lines, _ in sections for line in ["", *lines]]))

    def table(rows: list[Alert], empty: str) -> str:
        if not rows:
            return f"<p>{e(empty)}</p>"
        return "<table>" + "".join(
            f"<tr><td style='color:{level(a.severity).colour}'>{e(a.level)}</td>"
            f"<td>{e(a.brand)}</td><td><a href='{e(alert_link(dashboard_url, a.id), quote=True)}'>"
            f"{e(a.title)}</a></td><td>{e(a.status + who(a))}</td></tr>" for a in rows) + "</table>"

    parts = [f"<html><body><h2>Undertow daily digest {e(day)}</h2>",
             f"<h3>Open alerts ({len(open_):,})</h3>", table(open_, "No open alerts.")]
    if seen:
        parts += [f"<h3>Acknowledged, not resolved ({len(seen):,})</h3>", table(seen, "")]
    parts += [fragment for _, fragment in sections] + ["</body></html>"]
    msg.add_alternative("".join(parts), subtype="html")
    return msg
