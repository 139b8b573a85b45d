"""Alert email delivery through an outbox: never lost, never sent twice.

`enqueue_due` decides, in one transaction with the alert rows, which messages are due (an alert
opened or climbed a severity level since its last email), claims each such alert with a guarded
update, and writes one outbox row per recipient, unique on (message key, recipient). `deliver`
claims each pending row ("sending") before sending it over SMTP, so overlapping runs never both
send it, and marks it sent the moment the server accepts it. A message the server refuses for
now (4xx) is retried with backoff and stays pending; one it refuses for good (5xx) is marked
failed at once; after `MAX_ATTEMPTS` a row is marked failed too. A failure of the connection itself stops the run with every message
left pending and uncharged: no retry fixes a wrong setting, and an unreachable server is tried
once per run, not once per message.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import distinct, func, select, update

from listener.alerts.render import alert_message, digest_message
from listener.errors import ConfigError
from listener.post import utcnow
from listener.settings import Settings
from listener.store import Store, schema
from listener.store.alerts import get, level, level_rank, list_alerts
from listener.store.sql import as_utc, insert_ignore

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
# A run that dies mid-send leaves its claim; after this long another run may send the message.
CLAIM_LEASE = timedelta(minutes=10)
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
    a, n = schema.alerts, schema.alert_notifications
    queued = unaddressed = 0
    with store.engine.begin() as conn:
        rows = conn.execute(select(a.c.id, a.c.brand_id, a.c.severity, a.c.notified_severity)
                            .where(a.c.status == "open")).all()
        for r in rows:
            rank = level_rank(float(r.severity))
            # Low alerts are for the dashboard; email starts at medium.
            if rank < EMAIL_FROM_LEVEL or rank <= level_rank(r.notified_severity):
                continue
            to = recipients_for(store, r.brand_id, settings)
            if not to:
                unaddressed += 1
                continue
            # Claim the alert: of two runs that both saw it due, only the one whose update still
            # finds the severity it read queues the email (the other's update matches no row).
            claimed = conn.execute(update(a).where(
                a.c.id == r.id, a.c.status == "open",
                a.c.notified_severity.is_not_distinct_from(r.notified_severity),
            ).values(notified_severity=r.severity)).rowcount
            if claimed != 1:
                continue
            # A story that re-opens after its cooldown at a level it was emailed at before is
            # news again: the key counts earlier emails, or the outbox would skip it as a repeat.
            earlier = conn.execute(select(func.count(distinct(n.c.key)))
                                   .where(n.c.alert_id == r.id)).scalar_one()
            key = f"alert:{r.id}:{level(float(r.severity))}" + (f":{earlier}" if earlier else "")
            queued += _queue(conn, key, r.id, to)
    return queued, unaddressed


def enqueue_digest(store: Store, settings: Settings, day: str) -> int:
    """Queue the day's digest; returns how many emails are new (0 when it was queued already)."""
    to = [r.strip() for r in settings.alert_recipients.split(",") if r.strip()]
    with store.engine.begin() as conn:
        return _queue(conn, f"digest:{day}", None, to)


def _queue(conn, key: str, alert_id: int | None, recipients: list[str]) -> int:
    """Add an outbox row per recipient not yet queued under `key`; returns how many were added.

    The unique (key, recipient) index alone would silently skip repeats, and the report would
    then claim emails were queued that were not.
    """
    n = schema.alert_notifications
    have = set(conn.execute(select(n.c.recipient).where(n.c.key == key)).scalars())
    new = [r for r in dict.fromkeys(recipients) if r not in have]
    insert_ignore(conn, n, [{"key": key, "alert_id": alert_id, "recipient": r, "status": "pending",
                             "attempts": 0, "created_at": utcnow()} for r in new])
    return len(new)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _connect(settings: Settings) -> smtplib.SMTP:
    if not settings.smtp_host:
        raise ConfigError("No SMTP server configured: set UNDERTOW_SMTP_HOST (and _PORT, _USER, "
                          "_PASSWORD, _SECURITY)")
    in_clear = settings.smtp_security == "none" and settings.smtp_user
    if in_clear and not _loopback(settings.smtp_host):
        raise ConfigError(f"UNDERTOW_SMTP_SECURITY=none would send the SMTP password in clear to "
                          f"{settings.smtp_host}: use starttls or ssl (none is for a relay on this "
                          "machine, or one that needs no login)")
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
        return digest_message(alerts, settings.smtp_from, row.recipient, settings.dashboard_url,
                              day, [_service(store, settings)])
    return alert_message(get(store, row.alert_id), settings.smtp_from, row.recipient,
                         settings.dashboard_url, row.key)


def _service(store: Store, settings: Settings) -> tuple[list[str], str]:
    """The digest's service section: KPIs of the cases opened in the last day of data."""
    from listener.alerts.service_section import service_section
    from listener.jobs.engagement import service
    from listener.store.engagement import latest_post_time

    until = latest_post_time(store) or utcnow()
    out = service(store, since=until - timedelta(days=1), until=until + timedelta(seconds=1))
    blind = [name for name, has in out["has_accounts"].items() if not has]
    return service_section(out["brands"], out["groups"], blind, settings.dashboard_url,
                           f"the day to {until:%Y-%m-%d %H:%M} UTC")


class _Stop(Exception):
    """The run cannot send anything more: a wrong setting, or a server that cannot be reached."""


class _ConnectFailed(Exception):
    """Connecting failed (worth another try): never the message's fault, whatever the reply
    code, so it must not be read as a refusal of the message (a 554 greeting, a 5xx to EHLO)."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _setting_to_check(exc: Exception) -> str | None:
    """What to fix when connecting failed for a reason no retry can change; None if one might."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):  # retrying only gets the account locked
        return ("The SMTP server refused the login: check UNDERTOW_SMTP_USER and "
                "UNDERTOW_SMTP_PASSWORD")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "AUTH" in str(exc):
            return (f"The SMTP server said: {exc} Check UNDERTOW_SMTP_SECURITY (many servers offer "
                    "AUTH only after STARTTLS), or leave UNDERTOW_SMTP_USER empty")
        return (f"The SMTP server said: {exc} Check UNDERTOW_SMTP_SECURITY (starttls, ssl or none) "
                "and UNDERTOW_SMTP_PORT")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"The SMTP server's certificate is not trusted ({exc.verify_message}): check "
                "UNDERTOW_SMTP_HOST, or set UNDERTOW_SMTP_CA_FILE to its CA")
    if isinstance(exc, ssl.SSLError):
        return (f"TLS with the SMTP server failed ({exc.reason or exc}): check "
                "UNDERTOW_SMTP_SECURITY and UNDERTOW_SMTP_PORT (ssl is usually port 465, "
                "starttls 587)")
    return None


def _reply_code(exc: Exception) -> int | None:
    """The server's reply to a message it refused; None when the connection itself broke."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return min(code for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 400:
        return exc.smtp_code
    return None


class _Session:
    """The run's one SMTP connection: opened on first use, and again after it breaks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, msg, last_try: bool) -> None:
        if self.smtp is None:
            try:
                self.smtp = _connect(self.settings)
            except (smtplib.SMTPException, OSError) as exc:
                fix = _setting_to_check(exc)
                if fix is None and not last_try:
                    raise _ConnectFailed(_describe(exc)) from exc
                s = self.settings
                raise _Stop(fix or f"Could not reach the SMTP server {s.smtp_host}:{s.smtp_port} "
                            f"({_describe(exc)}): check UNDERTOW_SMTP_HOST and UNDERTOW_SMTP_PORT"
                            ) from exc
        try:
            self.smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code >= 500:
                raise _Stop(f"The SMTP server refused the sender {exc.sender} ({exc.smtp_code}): "
                            "check UNDERTOW_SMTP_FROM") from exc
            if _reply_code(exc) in (None, 421):  # 421: the server closed the connection
                self.close()
            raise

    def close(self, polite: bool = False) -> None:
        if self.smtp is None:
            return
        try:
            if polite:
                self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self.smtp.close()
            self.smtp = None


def deliver(store: Store, settings: Settings, retries: int = 3) -> DeliveryReport:
    """Send every pending outbox row; safe to run again after any failure or crash."""
    n = schema.alert_notifications
    report = DeliveryReport()
    with store.engine.begin() as conn:
        # A claim older than the lease belongs to a run that died mid-send: the message is due.
        conn.execute(update(n).where(n.c.status == "sending",
                                     n.c.claimed_at < utcnow() - CLAIM_LEASE)
                     .values(status="pending", claimed_at=None))
        pending = conn.execute(select(n).where(n.c.status == "pending").order_by(n.c.id)).all()
    session, left = _Session(settings), len(pending)
    try:
        for row in pending:
            if _claim(store, row.id):
                try:
                    _deliver_row(store, settings, session, row, retries, report)
                except BaseException:  # a stop, a bug, Ctrl-C: the message is due again
                    _release(store, row.id, status="pending", only_if_sending=True)
                    raise
            left -= 1
    except _Stop as stop:
        report.retry_later += left
        report.errors.append(f"{stop} ({left} messages stay queued)")
    finally:
        session.close(polite=True)
    return report


def _claim(store: Store, row_id: int) -> bool:
    """Take a pending row for this run; False when another run took (or sent) it first."""
    n = schema.alert_notifications
    with store.engine.begin() as conn:
        return conn.execute(update(n).where(n.c.id == row_id, n.c.status == "pending")
                            .values(status="sending", claimed_at=utcnow())).rowcount == 1


def _release(store: Store, row_id: int, only_if_sending: bool = False, **values) -> None:
    n = schema.alert_notifications
    stmt = update(n).where(n.c.id == row_id)
    if only_if_sending:
        stmt = stmt.where(n.c.status == "sending")
    with store.engine.begin() as conn:
        conn.execute(stmt.values(claimed_at=None, **values))


def _deliver_row(store: Store, settings: Settings, session: _Session, row, retries: int,
                 report: DeliveryReport) -> None:
    msg = _message(store, settings, row)
    error, code, attempt = "", None, 0
    for attempt in range(1, retries + 1):
        if attempt > 1:
            sleep(min(2 ** (attempt - 2), 30))
        try:
            session.send(msg, last_try=attempt == retries)
        except _ConnectFailed as exc:
            error, code = str(exc), None
            log.warning("Connecting to the SMTP server failed (%s); retrying", error)
            continue
        except (smtplib.SMTPException, OSError) as exc:
            error, code = _describe(exc), _reply_code(exc)
            if code is not None and code >= 500:
                break  # refused for good: a retry gets the same answer
            log.warning("Sending alert email to %s failed (%s); retrying", row.recipient, error)
            continue
        _release(store, row.id, status="sent", sent_at=utcnow(), message_id=msg["Message-ID"],
                 attempts=row.attempts + attempt, last_error=None)
        report.sent += 1
        return
    attempts = row.attempts + attempt
    status = "failed" if (code or 0) >= 500 or attempts >= MAX_ATTEMPTS else "pending"
    _release(store, row.id, status=status, attempts=attempts, last_error=error[:500])
    report.errors.append(f"{row.recipient}: {error}")
    if status == "failed":
        report.failed += 1
    else:
        report.retry_later += 1


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


