"""The Engagement page's one read: KPIs, the unanswered queue and the reply effect, as plain data.

The work is `listener.jobs.engagement.summary` (threads read once, linked by `graph/`); this
adapter gives it the page's engine so the page layer can cache it like any other query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from listener.jobs.engagement import summary
from listener.store import Store


def engagement(engine: Engine, model: str | None, brand: str | None, since: datetime,
               until: datetime, top: int = 100) -> dict:
    """`summary` with the sentiment of `model`, the version the other pages show."""
    return summary(Store(engine), brand, since, until, model=model, top=top)
