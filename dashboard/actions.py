"""The dashboard's only writes: acknowledging and resolving an alert.

Kept apart from the read-only queries so they are easy to find; when the alerts module owns the
lifecycle (cooldowns, notifications), these two functions should call it instead.
"""

from __future__ import annotations

from sqlalchemy import Engine, update

from listener.errors import NotFoundError
from listener.post import utcnow
from listener.store import schema

_ALLOWED = {"acknowledged": ("open",), "resolved": ("open", "acknowledged")}


def _move(engine: Engine, alert_id: int, status: str) -> bool:
    a = schema.alerts
    now = utcnow()
    values = {"status": status, "updated_at": now.replace(tzinfo=None)
              if engine.dialect.name == "sqlite" else now}
    if status == "resolved":
        values["resolved_at"] = values["updated_at"]
    with engine.begin() as conn:
        exists = conn.execute(a.select().where(a.c.id == alert_id)).first()
        if exists is None:
            raise NotFoundError(f"No alert {alert_id}")
        result = conn.execute(update(a).where(a.c.id == alert_id,
                                              a.c.status.in_(_ALLOWED[status])).values(**values))
    return result.rowcount == 1


def acknowledge(engine: Engine, alert_id: int) -> bool:
    """Mark an open alert as seen; returns False when it was not open (nothing changes)."""
    return _move(engine, alert_id, "acknowledged")


def resolve(engine: Engine, alert_id: int) -> bool:
    """Close an open or acknowledged alert; returns False when it was already resolved."""
    return _move(engine, alert_id, "resolved")


__all__ = ["acknowledge", "resolve"]
