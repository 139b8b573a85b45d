"""The dashboard's only writes: acknowledging and resolving an alert, through the store's
lifecycle (`listener.store.alerts.change_status`), the same one `undertow alerts` uses."""

from __future__ import annotations

from listener.store import Store
from listener.store.alerts import change_status


def acknowledge(store: Store, alert_id: int, by: str) -> bool:
    """Mark an open alert as seen by `by`; False when it was acknowledged already."""
    return change_status(store, alert_id, "acknowledged", by)[1]


def resolve(store: Store, alert_id: int, by: str) -> bool:
    """Close an open or acknowledged alert; False when it was already resolved."""
    return change_status(store, alert_id, "resolved", by)[1]


__all__ = ["acknowledge", "resolve"]
