"""Alert rows and their lifecycle: watch -> open -> acknowledged -> resolved, one row per story.

A story below the reporting level (`REPORT_FROM`, "medium") is a *watch* item: recorded, with
its evidence, but not an open alert: nobody is emailed and it is not counted as open. It opens
the moment its severity reaches the reporting level; an alert once opened never goes back to
watch. A story seen again updates its row instead of opening a new one. An acknowledged alert re-opens
only when its severity climbs to a higher level; a resolved one stays quiet for its brand's
cooldown and re-opens after it if the story is still growing.

A story that stops growing (the detector calls it quiet: no news for its idle period) resolves
its open or acknowledged alert by itself, `resolved_by` "undertow", with the reason in its
evidence ("resolution"); if the story grows again, that alert re-opens at once (no cooldown:
nobody decided it was over), provided its severity is at the reporting level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from graph.levels import REPORT_FROM, level, rank
from listener.errors import InvalidTransition, NotFoundError
from listener.post import utcnow
from listener.store import Store, schema
from listener.store.sql import as_utc

DEFAULT_COOLDOWN = timedelta(hours=6)
SYSTEM = "undertow"  # who moves an alert that no person moved
STATUSES = ("watch", "open", "acknowledged", "resolved")


@dataclass(frozen=True)
class Alert:
    id: int
    brand_id: int
    brand: str
    story_key: str
    status: str
    severity: float
    title: str
    evidence: dict[str, Any]
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    notified_severity: float | None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_by: str | None = None

    @property
    def level(self) -> str:
        return level(self.severity).name


def _row_to_alert(r) -> Alert:
    return Alert(r.id, r.brand_id, r.brand, r.story_key, r.status, float(r.severity), r.title,
                 r.evidence or {}, as_utc(r.opened_at), as_utc(r.updated_at), as_utc(r.resolved_at),
                 r.notified_severity, as_utc(r.acknowledged_at), r.acknowledged_by, r.resolved_by)


def _select():
    a, b = schema.alerts, schema.brands
    return select(a, b.c.name.label("brand")).join(b, b.c.id == a.c.brand_id)


def get(store: Store, alert_id: int) -> Alert:
    with store.engine.connect() as conn:
        row = conn.execute(_select().where(schema.alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFoundError(f"No alert #{alert_id} (see `undertow alerts list`)")
    return _row_to_alert(row)


def story_size(a=schema.alerts):
    """The posts a story counts (its evidence): breaks ties between alerts whose severity has
    saturated, so the 779-reaction story ranks above a 23-reaction one at 1.00."""
    return func.coalesce(a.c.evidence["posts"].as_integer(), 0)


def list_alerts(store: Store, status: str | None = None, brand: str | None = None,
                limit: int = 100, watch: bool = False) -> list[Alert]:
    """Alerts, most severe first; watch items only when asked for (`watch` or that status)."""
    a = schema.alerts
    stmt = _select().order_by(a.c.severity.desc(), story_size(a).desc(),
                              a.c.updated_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(a.c.status == status)
    elif not watch:
        stmt = stmt.where(a.c.status != "watch")
    if brand:
        stmt = stmt.where(schema.brands.c.name == brand)
    with store.engine.connect() as conn:
        return [_row_to_alert(r) for r in conn.execute(stmt)]


@dataclass(frozen=True)
class StoryUpdate:
    """The latest state of one story, as `upsert_story` records it."""

    brand_id: int
    story_key: str
    severity: float
    title: str
    evidence: dict[str, Any]
    now: datetime | None = None
    opened_at: datetime | None = None
    active: bool = True  # False: the story stopped growing (its alert resolves itself)
    resolution: str | None = None  # why, when it stopped


def upsert_story(store: Store, brand_id: int, story_key: str, severity: float, title: str,
                 evidence: dict[str, Any], now: datetime | None = None,
                 cooldown: timedelta = DEFAULT_COOLDOWN,
                 opened_at: datetime | None = None, active: bool = True,
                 resolution: str | None = None) -> tuple[int, str]:
    """Record the latest state of a story; returns (alert id, what happened).

    `opened_at` is when the story began, if that is earlier than `now` (a first run of the
    detector over old posts learns of a story only when it has already grown). `active` False:
    the story stopped growing, for the reason `resolution`.
    """
    update_ = StoryUpdate(brand_id, story_key, severity, title, evidence, now, opened_at, active,
                          resolution)
    return upsert_stories(store, [update_], cooldown)[0]


def upsert_stories(store: Store, updates: list[StoryUpdate],
                   cooldown: timedelta = DEFAULT_COOLDOWN) -> list[tuple[int, str]]:
    """`upsert_story` for many stories in one transaction (the detector records a page at once)."""
    with store.engine.begin() as conn:
        return [_upsert(conn, u, cooldown) for u in updates]


def _upsert(conn, u: StoryUpdate, cooldown: timedelta) -> tuple[int, str]:
    now = u.now or utcnow()
    a = schema.alerts
    row = conn.execute(select(a).where(a.c.brand_id == u.brand_id, a.c.story_key == u.story_key)
                       .with_for_update()).first()
    reported = u.severity >= REPORT_FROM
    # Over already: a story that reached the reporting level and stopped growing between two
    # looks (a first run over old posts sees whole stories) is an alert, resolved by itself.
    over = dict(status="resolved", resolved_at=now, resolved_by=SYSTEM,
                evidence={**u.evidence, "resolution": u.resolution or "stopped growing"})
    if row is None:
        status = dict(status="open" if reported else "watch", evidence=u.evidence)
        if reported and not u.active:
            status = over
        new_id = conn.execute(insert(a).values(
            brand_id=u.brand_id, story_key=u.story_key, severity=u.severity, title=u.title,
            opened_at=u.opened_at or now, updated_at=now, **status,
        ).returning(a.c.id)).scalar_one()
        return new_id, "opened" if reported else "watching"
    if _stale(u.evidence, row.evidence):
        return row.id, "stale"
    values: dict[str, Any] = dict(severity=u.severity, title=u.title, evidence=u.evidence,
                                  updated_at=now)
    outcome = "updated"
    escalated = rank(u.severity) > rank(float(row.severity))
    self_resolved = row.status == "resolved" and row.resolved_by == SYSTEM
    if not u.active and row.status in ("open", "acknowledged"):
        values.update(over)
        outcome = "resolved"
    elif not u.active and row.status == "watch" and reported:
        values.update(over)
        outcome = "opened"
    elif not u.active and self_resolved:
        values["evidence"] = {**u.evidence, "resolution": (row.evidence or {}).get(
            "resolution", u.resolution or "stopped growing")}
    elif self_resolved and u.active:
        if reported:  # it grows again: the same alert, open again
            values.update(status="open", resolved_at=None, resolved_by=None,
                          notified_severity=None)
            outcome = "reopened"
        else:
            values = dict(severity=u.severity, evidence=u.evidence, updated_at=now)
    elif row.status == "watch":
        if reported:
            values["status"], outcome = "open", "opened"
        else:
            outcome = "watching"
    elif row.status == "acknowledged" and escalated:
        values["status"], outcome = "open", "reopened"
    elif row.status == "resolved":
        quiet_until = as_utc(row.resolved_at) + cooldown
        if now >= quiet_until and u.severity >= float(row.severity):
            values.update(status="open", resolved_at=None, resolved_by=None,
                          notified_severity=None)
            outcome = "reopened"
        else:
            values = dict(evidence=u.evidence, updated_at=now)  # quiet: keep the record fresh
            outcome = "cooling down"
    conn.execute(update(a).where(a.c.id == row.id).values(**values))
    return row.id, outcome


def _stale(new: dict[str, Any] | None, stored: dict[str, Any] | None) -> bool:
    """An update describing an earlier moment of the stream than the alert already shows.

    A detector run that dies before saving its state is replayed from its last checkpoint; its
    updates come again, and applying them would roll severity back and turn the later rise into
    a reopening of an alert someone had acknowledged.
    """
    at = (new or {}).get("stream_at")
    seen = stored.get("stream_at") if isinstance(stored, dict) else None
    return at is not None and seen is not None and at < seen


MAX_WHO = 128


def who(name: str | None) -> str:
    """A person's name as recorded on an alert: one line, at most MAX_WHO characters.

    Required: an acknowledgement nobody can be asked about is worth little to the next shift.
    """
    clean = " ".join("".join(c if c.isprintable() else " " for c in name or "").split())
    if not clean:
        raise InvalidTransition("Say who is acting: give a name (`--by NAME` on the command line)")
    return clean[:MAX_WHO]


def change_status(store: Store, alert_id: int, status: str, by: str) -> tuple[Alert, bool]:
    """Move an alert along open -> acknowledged -> resolved, recording who and when; returns
    (alert, whether it changed). The dashboard's buttons and `undertow alerts ack|resolve|reopen`
    both come here.

    Asking for the status an alert already has changes nothing (nor who is recorded), so
    resolving twice does not restart the cooldown. Acknowledging a resolved alert is refused: it
    would silently end the cooldown and make it look live again; re-open it (status "open") if
    that is what is meant.
    """
    if status not in ("acknowledged", "resolved", "open"):  # "watch" is the detector's to set
        raise ValueError(status)
    person = who(by)
    a = schema.alerts
    with store.engine.begin() as conn:
        current = conn.execute(select(a.c.status).where(a.c.id == alert_id).with_for_update()
                               ).scalar_one_or_none()
        if current is None:
            raise NotFoundError(f"No alert #{alert_id} (see `undertow alerts list`)")
        if current == "resolved" and status == "acknowledged":
            raise InvalidTransition(f"Alert #{alert_id} is resolved: it cannot be acknowledged "
                                    "(it re-opens by itself if the story grows after its cooldown)")
        if current != status:
            now = utcnow()
            values: dict[str, Any] = dict(status=status, updated_at=now)
            if status == "acknowledged":
                values.update(acknowledged_at=now, acknowledged_by=person)
            elif status == "resolved":
                values.update(resolved_at=now, resolved_by=person)
            else:
                values.update(resolved_at=None, resolved_by=None)
            conn.execute(update(a).where(a.c.id == alert_id).values(**values))
    return get(store, alert_id), current != status


def cascade_forecasts(store: Store) -> dict[tuple[int, int], tuple[float, float | None]]:
    """(brand id, cascade root post id) -> (P(viral), forecast final size) of open stories.

    The detector keys a cascade's alert "cascade:<root post id>". A story resolved by a person
    is done; one that resolved itself only stopped growing, and its unanswered posts still
    belong to a story that grew (the inbox ranks them by it).
    """
    a = schema.alerts
    found: dict[tuple[int, int], tuple[float, float | None]] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(a.c.brand_id, a.c.story_key, a.c.evidence).where(
            a.c.story_key.like("cascade:%"),
            (a.c.status != "resolved") | (a.c.resolved_by == SYSTEM))).all()
    for r in rows:
        forecast = (r.evidence or {}).get("forecast") or {}
        try:
            root = int(r.story_key.split(":", 1)[1])
        except ValueError:
            continue
        if forecast.get("p_viral") is not None:
            found[(r.brand_id, root)] = (float(forecast["p_viral"]), forecast.get("final"))
    return found


def alerts_in_play(store: Store) -> list:
    """Alerts still in play (watch, open, acknowledged): id, brand, story key, title, evidence."""
    a = schema.alerts
    with store.engine.connect() as conn:
        return conn.execute(select(a.c.id, a.c.brand_id, a.c.story_key, a.c.title, a.c.evidence)
                            .where(a.c.status.in_(("watch", "open", "acknowledged")))).all()


def retitle(store: Store, alert_id: int, old_title: str, title: str,
            evidence: dict[str, Any]) -> int:
    """Give an alert a new title and evidence unless it changed meanwhile (its title is not
    `old_title` any more: the detector rewrote it); 1 if written, else 0."""
    a = schema.alerts
    with store.engine.begin() as conn:
        return conn.execute(update(a).where(a.c.id == alert_id, a.c.title == old_title)
                            .values(title=title, evidence=evidence)).rowcount
