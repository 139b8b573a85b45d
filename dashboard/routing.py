"""Who hears about each brand's alerts, as the Alerts page shows it (read-only).

The same resolution the delivery uses (`listener.alerts.routing.route`): the brand's own
recipients, threshold and webhook first, the global settings for the rest. A webhook URL is a
secret (its path carries the token), so only its host is shown, never the path or query.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import pandas as pd

from listener.alerts.routing import route, webhook_url, webhook_variable
from listener.errors import ConfigError
from listener.settings import Settings
from listener.store import Brand

COLUMNS = ("brand", "email", "from", "webhook")


def webhook_host(name: str, settings: Settings) -> str:
    """'chat.example.com (UNDERTOW_ALERT_WEBHOOK_URL_OPS)', or why there is none."""
    variable = webhook_variable(name)
    try:
        url = webhook_url(name, settings).get()
    except ConfigError:
        return f"not set: {variable} has no http(s) URL"
    host = urlsplit(url).hostname or "?"
    return f"{host} ({variable})"


def routing_table(brands: Iterable[Brand], settings: Settings) -> pd.DataFrame:
    """One row per brand: email recipients, the severity alerts go out from, the webhook."""
    rows = []
    for b in brands:
        r = route(b, settings)
        email = ", ".join(r.recipients) or "nobody (set UNDERTOW_ALERT_RECIPIENTS or --recipient)"
        rows.append({
            "brand": b.name,
            "email": email + ("" if r.own_recipients or not r.recipients else " (global)"),
            "from": f"{r.notify_level} ({r.notify_from:.2f})"
                    + ("" if r.own_threshold else " (default)"),
            "webhook": "none" if r.webhook is None else webhook_host(r.webhook, settings),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))
