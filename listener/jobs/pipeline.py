"""The stages after collection, in data-flow order: `undertow demo` runs them once, `undertow
listen` after every pass.

Each stage is `stage(store, settings, echo)`. In `listen`, a failing stage is reported and the
listener goes on: the next pass retries it, and collection never stops for a downstream fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from listener.jobs import coordination, detect, graph_views, rank, score, themes
from listener.store import Store

log = logging.getLogger(__name__)
Stage = Callable[..., None]

# Themes before detection: a story's alert names the complaint themes found in its posts. The
# Graph explorer's default views after the ranking whose communities colour them.
STAGES: list[Stage] = [score.stage, rank.stage, graph_views.stage, coordination.stage,
                       themes.stage, detect.stage]


def _send_alerts(store: Store, settings, echo: Callable[[str], None]) -> None:
    if not settings.smtp_host:  # recipients may also be set per brand
        return
    from listener.alerts.delivery import send

    report = send(store, settings)
    if report.no_recipients:
        echo(f"Alert emails: {report.no_recipients:,} alerts have no recipient "
             "(UNDERTOW_ALERT_RECIPIENTS or a brand's recipients); they stay due")
    if report.sent or report.errors:
        echo(f"Alert emails: {report.sent:,} sent, {report.retry_later:,} to retry"
             + "".join(f"; {e}" for e in report.errors[:3]))


def _prune_daily(store: Store, settings, echo: Callable[[str], None]) -> None:
    today = datetime.now(UTC).date().isoformat()
    if store.get_meta("last_prune") == today or settings.retention_days <= 0:
        return
    from listener.store.retention import prune

    report = prune(store, settings.retention_for)
    store.set_meta({"last_prune": today})
    if report.removed.get("posts"):
        echo(f"Retention: removed {report.removed['posts']:,} posts older than the retention period")


def after_collect(store: Store, settings, new_posts: int, echo: Callable[[str], None]) -> None:
    stages = (STAGES if new_posts else []) + [_send_alerts, _prune_daily]
    for stage in stages:
        try:
            stage(store, settings, echo)
        except Exception as exc:  # keep listening; the next pass retries the stage
            log.exception("Stage %s failed", getattr(stage, "__module__", stage))
            echo(f"{getattr(stage, '__module__', 'stage')} failed: {exc}; will retry next pass")
