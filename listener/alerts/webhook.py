"""Chat posts: an alert as Slack-compatible incoming-webhook JSON (`{"text": ...}`), which
Mattermost and Microsoft Teams connectors take too.

Post text, handles and themes are untrusted: `neutralise` makes them inert in every one of
those chats (no mentions that page a channel, no links dressed as something else, no forged
lines). The webhook URL is a secret (it carries the channel's token): it is only ever passed to
the HTTP client, and any error text is scrubbed of it before anyone sees it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from listener.alerts.evidence import Evidence
from listener.alerts.render import alert_link
from listener.settings import Secret
from listener.store.alerts import Alert

__all__ = ["Refused", "Unreachable", "neutralise", "payload", "post"]

TIMEOUT_S = 15
MAX_TEXT = 300  # characters of a post quoted in a chat message
_ZWSP = "\u200b"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_TRANSIENT = {408, 425, 429, 500, 502, 503, 504}


def neutralise(text: object, limit: int | None = None) -> str:
    """Untrusted text made inert in Slack, Mattermost and Teams messages.

    `&`, `<` and `>` are escaped as Slack asks (so `<!channel>`, `<@U123>` and `<url|label>`
    are plain text); a zero-width space after `@` stops Mattermost and Teams mentions
    (`@channel`, `@here`, `@all`); `](` is split so no Markdown link forms; line breaks and
    control characters become spaces, so a post cannot forge lines of the message.
    """
    s = _CONTROL.sub(" ", str(text))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("@", "@" + _ZWSP).replace("](", "]" + _ZWSP + "(")
    s = " ".join(s.split())
    if limit is not None and len(s) > limit:
        s = s[:limit].rstrip() + "…"
    return s


def payload(alert: Alert, dashboard_url: str) -> dict[str, str]:
    """The chat message of one alert: level, brand, title, reasons, the top post, the link."""
    ev = Evidence.from_json(alert.evidence, alert.story_key)
    lines = [f"*[{alert.level.upper()}] {neutralise(alert.brand)}*: {neutralise(alert.title)}"]
    lines += [f"• {neutralise(r)}" for r in ev.reasons()]
    if ev.root_posts:
        p = ev.root_posts[0]
        lines.append(f"> {neutralise('@' + str(p.author))}: {neutralise(p.text, MAX_TEXT)}")
    lines.append(f"Alert #{alert.id}, severity {alert.severity:.2f}, {alert.status}: "
                 f"{alert_link(dashboard_url, alert.id)}")
    return {"text": "\n".join(lines)}


@dataclass
class Refused(Exception):
    """The chat server said no for good (a 4xx other than 408/425/429): no retry helps."""

    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass
class Unreachable(Exception):
    """No answer, or one worth trying again (timeouts, 5xx, 429); `wait_s` from Retry-After."""

    detail: str
    wait_s: float | None = None

    def __str__(self) -> str:
        return self.detail


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; following it would re-post the body elsewhere."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _scrub(text: str, url: Secret) -> str:
    """Error text without the URL or any part of its path (which holds the token)."""
    secret = url.get()
    text = text.replace(secret, "***")
    path = secret.split("://", 1)[-1].split("/", 1)[-1]
    for part in filter(None, [path, *path.split("/")]):
        if len(part) >= 6:
            text = text.replace(part, "***")
    return text


def post(url: Secret, message: dict[str, str], delivery_id: str) -> None:
    """POST one message; returns when the server accepted it (2xx), raises Refused/Unreachable.

    `delivery_id` is the same on every send of one message (header X-Undertow-Delivery), so a
    receiver can drop the repeat that follows a crash between its answer and our record of it.
    """
    body = json.dumps(message, ensure_ascii=False).encode()
    request = urllib.request.Request(url.get(), data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "undertow-alerts",
        "X-Undertow-Delivery": delivery_id})
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        said = _scrub(exc.read(200).decode("utf-8", "replace").strip(), url)
        detail = f"HTTP {exc.code}" + (f": {said}" if said else "")
        if exc.code in _TRANSIENT:
            raise Unreachable(detail, _retry_after(exc.headers.get("Retry-After"))) from None
        raise Refused(detail) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(_scrub(f"{type(exc).__name__}: {reason}", url)) from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff's own wait will do
