"""The alert outbox: one row per (message key, recipient), emails and chat posts alike.

`enqueue_due` decides, in one transaction with the alert rows, which messages are due (an alert
opened or climbed a severity level since it was last notified, at or above its brand's
threshold), claims each such alert with a guarded update, and writes one row per target,
unique on (key, recipient). A delivery run `claim`s a pending row ("sending") before it sends
it, so overlapping runs never both send it, and `release`s it as sent, pending or failed. A
claim older than `CLAIM_LEASE` belongs to a run that died mid-send: `pending_rows` hands it out
again. A webhook row's recipient is the webhook's name; its URL never reaches the database.

The lease is tied to how long one send attempt can last, not to a guess: the sender `renew`s
its claim before each attempt and cuts an attempt at `ATTEMPT_DEADLINE_S`
(`listener.alerts.delivery`), so after a claim is `CLAIM_LEASE` old no live run can still be
sending that message, and a run killed mid-send (kill -9, a crash, a lost host) costs a retry
90 s later, not 10 minutes. What it cannot settle: a run killed after the server took the
message and before the row said so leaves a message the server has and a row that says
"sending"; the retry sends it again, with the same Message-ID (email) or X-Undertow-Delivery
(webhook) for the receiver to drop. SMTP has no way to ask whether a message arrived, so across
a crash inside the transaction delivery is at least once, never exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select, update

from graph.levels import level, rank
from listener.post import utcnow
from listener.store import Store, schema
from listener.store.sql import as_utc, insert_ignore

__all__ = ["ATTEMPT_DEADLINE_S", "CLAIM_LEASE", "SEND_TIMEOUT_S", "Target", "claim", "enqueue",
           "enqueue_due", "outbox", "pending_rows", "release", "renew"]

SEND_TIMEOUT_S = 30.0  # the socket timeout of one SMTP connection (each read, write, connect)
ATTEMPT_DEADLINE_S = 2 * SEND_TIMEOUT_S  # one attempt (connect and send) is cut off here
LEASE_MARGIN_S = 30.0  # the database write after the reply; clock skew between hosts
CLAIM_LEASE = timedelta(seconds=ATTEMPT_DEADLINE_S + LEASE_MARGIN_S)
Target = tuple[str, str]  # (channel "email" | "webhook", recipient: an address or a webhook name)
# brand id -> (the lowest severity worth a message, where messages go)
Routing = Callable[[int], tuple[float, Sequence[Target]]]


def enqueue_due(store: Store, routing: Routing) -> tuple[int, int]:
    """Queue the messages of each open alert that opened or rose a level since it was last
    notified; returns (messages queued, alerts left due because nobody is set to hear of them).

    Those are not marked as notified, so setting recipients later still sends them.
    """
    a, n = schema.alerts, schema.alert_notifications
    queued = unaddressed = 0
    with store.engine.begin() as conn:
        rows = conn.execute(select(a.c.id, a.c.brand_id, a.c.severity, a.c.notified_severity)
                            .where(a.c.status == "open")).all()
        for r in rows:
            floor, targets = routing(r.brand_id)
            severity = float(r.severity)
            if severity < floor or rank(severity) <= rank(r.notified_severity):
                continue
            if not targets:
                unaddressed += 1
                continue
            # Claim the alert: of two runs that both saw it due, only the one whose update still
            # finds the severity it read queues the messages (the other's matches no row).
            claimed = conn.execute(update(a).where(
                a.c.id == r.id, a.c.status == "open",
                a.c.notified_severity.is_not_distinct_from(r.notified_severity),
            ).values(notified_severity=r.severity)).rowcount
            if claimed != 1:
                continue
            # A story that re-opens after its cooldown at a level it was notified at before is
            # news again: the key counts earlier keys, or the outbox would skip it as a repeat.
            earlier = conn.execute(select(func.count(distinct(n.c.key)))
                                   .where(n.c.alert_id == r.id)).scalar_one()
            key = f"alert:{r.id}:{level(severity).name}" + (f":{earlier}" if earlier else "")
            queued += _queue(conn, key, r.id, targets)
    return queued, unaddressed


def enqueue(store: Store, key: str, targets: Sequence[Target]) -> int:
    """Queue one message that belongs to no alert (the digest); 0 when it was queued already."""
    with store.engine.begin() as conn:
        return _queue(conn, key, None, targets)


def _queue(conn, key: str, alert_id: int | None, targets: Sequence[Target]) -> int:
    """Add a row per target not yet queued under `key`; returns how many were added.

    The unique (key, recipient) index alone would silently skip repeats, and the report would
    then claim messages were queued that were not.
    """
    n = schema.alert_notifications
    have = set(conn.execute(select(n.c.recipient).where(n.c.key == key)).scalars())
    new = [(c, r) for c, r in dict.fromkeys(targets) if r not in have]
    insert_ignore(conn, n, [{"key": key, "alert_id": alert_id, "channel": c, "recipient": r,
                             "status": "pending", "attempts": 0, "created_at": utcnow()}
                            for c, r in new])
    return len(new)


def pending_rows(store: Store) -> list[Any]:
    """Rows to send, oldest first, after handing back the claims of runs that died mid-send."""
    n = schema.alert_notifications
    with store.engine.begin() as conn:
        conn.execute(update(n).where(n.c.status == "sending",
                                     n.c.claimed_at < utcnow() - CLAIM_LEASE)
                     .values(status="pending", claimed_at=None))
        return conn.execute(select(n).where(n.c.status == "pending").order_by(n.c.id)).all()


def claim(store: Store, row_id: int) -> datetime | None:
    """Take a pending row for this run: the claim's time, which is also this run's token for
    `renew`; None when another run took (or sent) it first."""
    n, now = schema.alert_notifications, utcnow()
    with store.engine.begin() as conn:
        taken = conn.execute(update(n).where(n.c.id == row_id, n.c.status == "pending")
                             .values(status="sending", claimed_at=now)).rowcount == 1
    return now if taken else None


def renew(store: Store, row_id: int, claimed_at: datetime) -> datetime | None:
    """Restart this run's lease on a row it holds (`claimed_at`: its claim's time, from `claim`
    or the last renew), before each send attempt: the new time, or None when the claim was lost
    (it ran out and another run has the row, or it was sent): then this run must not send."""
    n, now = schema.alert_notifications, utcnow()
    with store.engine.begin() as conn:
        kept = conn.execute(update(n).where(n.c.id == row_id, n.c.status == "sending",
                                            n.c.claimed_at == claimed_at)
                            .values(claimed_at=now)).rowcount == 1
    return now if kept else None


def release(store: Store, row_id: int, only_if_sending: bool = False, **values: Any) -> None:
    """End this run's claim: status sent, pending (to retry) or failed, with what happened."""
    n = schema.alert_notifications
    stmt = update(n).where(n.c.id == row_id)
    if only_if_sending:
        stmt = stmt.where(n.c.status == "sending")
    with store.engine.begin() as conn:
        conn.execute(stmt.values(claimed_at=None, **values))


def outbox(store: Store, status: str | None = None) -> list[dict]:
    n = schema.alert_notifications
    stmt = select(n).order_by(n.c.id)
    if status:
        stmt = stmt.where(n.c.status == status)
    with store.engine.connect() as conn:
        return [dict(r._mapping) | {"sent_at": as_utc(r.sent_at)} for r in conn.execute(stmt)]
