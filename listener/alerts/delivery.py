"""Alert email delivery through an outbox: never lost, never sent twice.

`enqueue_due` decides, in one transaction with the alert rows, which messages are due (an alert
opened or climbed a severity level since its last email) and writes one outbox row per recipient,
unique on (message key, recipient). `deliver` sends pending rows over SMTP and marks each sent the
moment the server accepts it; failures are retried with backoff, stay pending for the next run,
and are reported; after `MAX_ATTEMPTS` a row is marked failed and listed by `undertow alerts list`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from listener.alerts.render import alert_message, digest_message
from listener.errors import ConfigError
from listener.post import utcnow
from listener.settings import Settings
from listener.store import Store, schema
from listener.store.alerts import get, level, level_rank, list_alerts
from listener.store.db import as_utc, insert_ignore

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
EMAIL_FROM_LEVEL = 1  # 0 low, 1 medium, 2 high
sleep = time.sleep  # patched in tests


@dataclass
class DeliveryReport:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    no_recipients: int = 0  # alerts due an email that nobody is set to receive: kept due
    errors: list[str] = field(default_factory=list)


def recipients_for(store: Store, brand_id: int, settings: Settings) -> list[str]:
    """A brand's own recipients (brand settings "recipients") or UNDERTOW_ALERT_RECIPIENTS."""
    for b in store.brands():
        if b.id == brand_id and b.settings.get("recipients"):
            return list(b.settings["recipients"])
    return [r.strip() for r in settings.alert_recipients.split(",") if r.strip()]


def enqueue_due(store: Store, settings: Settings) -> tuple[int, int]:
    """Queue an email for each alert that opened or rose a level since it was last emailed.

    Returns (emails queued, alerts left due because their brand has no recipient): those are
    not marked as emailed, so setting recipients later still sends them.
    """
    a = schema.alerts
    queued = unaddressed = 0
    with store.engine.begin() as conn:
        rows = conn.execute(select(a.c.id, a.c.brand_id, a.c.severity, a.c.notified_severity)
                            .where(a.c.status == "open")).all()
        for r in rows:
            rank = level_rank(float(r.severity))
            # Low alerts are for the dashboard; email starts at medium.
            if rank < EMAIL_FROM_LEVEL or rank <= level_rank(r.notified_severity):
                continue
            key = f"alert:{r.id}:{level(float(r.severity))}"
            to = recipients_for(store, r.brand_id, settings)
            if not to:
                unaddressed += 1
                continue
            insert_ignore(conn, schema.alert_notifications, [{"key": key, "alert_id": r.id, "recipient": rcpt,
                                   "status": "pending", "attempts": 0, "created_at": utcnow()}
                                  for rcpt in to])
            conn.execute(update(a).where(a.c.id == r.id).values(notified_severity=r.severity))
            queued += len(to)
    return queued, unaddressed


def enqueue_digest(store: Store, settings: Settings, day: str) -> int:
    to = [r.strip() for r in settings.alert_recipients.split(",") if r.strip()]
    with store.engine.begin() as conn:
        insert_ignore(conn, schema.alert_notifications, [{"key": f"digest:{day}", "alert_id": None, "recipient": rcpt,
                               "status": "pending", "attempts": 0, "created_at": utcnow()}
                              for rcpt in to])
    return len(to)


def _connect(settings: Settings) -> smtplib.SMTP:
    if not settings.smtp_host:
        raise ConfigError("No SMTP server configured: set UNDERTOW_SMTP_HOST (and _PORT, _USER, "
                          "_PASSWORD, _SECURITY)")
    context = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
    if settings.smtp_security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                              context=context, timeout=30)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password.get())
    return smtp


def _message(store: Store, settings: Settings, row):
    if row.key.startswith("digest:"):
        day = row.key.split(":", 1)[1]
        since = utcnow() - timedelta(days=1)
        alerts = [al for al in list_alerts(store, limit=200) if al.updated_at >= since]
        return digest_message(alerts, settings.smtp_from, row.recipient, settings.dashboard_url, day)
    return alert_message(get(store, row.alert_id), settings.smtp_from, row.recipient,
                         settings.dashboard_url, row.key)


def deliver(store: Store, settings: Settings, retries: int = 3) -> DeliveryReport:
    """Send every pending outbox row; safe to run again after any failure or crash."""
    n = schema.alert_notifications
    report = DeliveryReport()
    with store.engine.connect() as conn:
        pending = conn.execute(select(n).where(n.c.status == "pending").order_by(n.c.id)).all()
    if not pending:
        return report
    smtp = None
    for row in pending:
        error = None
        for attempt in range(retries):
            try:
                if smtp is None:
                    smtp = _connect(settings)
                msg = _message(store, settings, row)
                smtp.send_message(msg)
                with store.engine.begin() as conn:
                    conn.execute(update(n).where(n.c.id == row.id).values(
                        status="sent", sent_at=utcnow(), message_id=msg["Message-ID"],
                        attempts=row.attempts + attempt + 1, last_error=None))
                report.sent += 1
                error = None
                break
            except ConfigError:
                raise
            except smtplib.SMTPAuthenticationError:
                # Retrying a refused login only locks the account: stop, keep everything pending.
                report.errors.append("The SMTP server refused the login: check UNDERTOW_SMTP_USER "
                                     "and UNDERTOW_SMTP_PASSWORD (messages stay queued)")
                report.retry_later += sum(1 for r in pending if r.id >= row.id)
                return report
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("Sending alert email to %s failed (%s); retrying", row.recipient, error)
                if smtp is not None:
                    try:
                        smtp.close()
                    finally:
                        smtp = None
                sleep(min(2 ** attempt, 30))
        if error is not None:
            attempts = row.attempts + retries
            status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
            with store.engine.begin() as conn:
                conn.execute(update(n).where(n.c.id == row.id).values(
                    status=status, attempts=attempts, last_error=error[:500]))
            report.errors.append(f"{row.recipient}: {error}")
            if status == "failed":
                report.failed += 1
            else:
                report.retry_later += 1
    if smtp is not None:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            smtp.close()
    return report


def outbox(store: Store, status: str | None = None) -> list[dict]:
    n = schema.alert_notifications
    stmt = select(n).order_by(n.c.id)
    if status:
        stmt = stmt.where(n.c.status == status)
    with store.engine.connect() as conn:
        return [dict(r._mapping) | {"sent_at": as_utc(r.sent_at)} for r in conn.execute(stmt)]


def send(store: Store, settings: Settings, digest_day: str | None = None) -> DeliveryReport:
    queued, unaddressed = enqueue_due(store, settings)
    if digest_day:
        queued += enqueue_digest(store, settings, digest_day)
    report = deliver(store, settings)
    report.queued, report.no_recipients = queued, unaddressed
    return report


