"""Alert delivery through the store's outbox (`listener.store.outbox`): never lost, never sent
twice, by email (SMTP) and by chat webhook alike.

`enqueue_due` queues a message per target of each alert that is due (routing:
`listener.alerts.routing`); `deliver` claims each pending row before sending it, and marks it
sent the moment the server accepts it. A message refused for now (SMTP 4xx; HTTP 408/429/5xx,
timeouts) is retried with backoff and stays pending; one refused for good (SMTP 5xx, HTTP 4xx)
is marked failed at once; after `MAX_ATTEMPTS` a row is marked failed too. For email, a failure
of the connection itself stops the email part of the run with every message left pending and
uncharged: no retry fixes a wrong setting, and an unreachable server is tried once per run, not
once per message. A webhook without a URL stays pending, uncharged, until it has one.

A crash after the server accepted a message and before it was marked sent leaves the row
claimed; after `CLAIM_LEASE` it is sent again, with the same Message-ID (email) or
X-Undertow-Delivery header (webhook), so the receiver can recognise the repeat. That window is
the one place "never twice" rests on the receiver; every other failure leaves nothing sent.

The lease is short (90 s) because no live run can hold a message in flight longer: the claim
is renewed before each attempt, and an email attempt (connect, STARTTLS, login, send) is cut
off at `ATTEMPT_DEADLINE_S` by closing its socket, whatever a slow server does; each socket
operation also times out after `SEND_TIMEOUT_S`. A webhook attempt is bounded by its
per-operation timeout (`webhook.TIMEOUT_S`), not cut off the same way.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from listener.alerts import webhook
from listener.alerts.render import alert_message, digest_message
from listener.alerts.routing import route, webhook_url
from listener.errors import ConfigError
from listener.post import utcnow
from listener.settings import Settings
from listener.store import Store
from listener.store import outbox as box
from listener.store.alerts import get, list_alerts
from listener.store.outbox import ATTEMPT_DEADLINE_S, CLAIM_LEASE, SEND_TIMEOUT_S, Target

__all__ = ["CLAIM_LEASE", "DeliveryReport", "deliver", "enqueue_digest", "enqueue_due", "outbox",
           "send"]

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
sleep = time.sleep  # patched in tests
DIGEST_MAX = 200  # alerts of each status listed in a digest (its counts are of all of them)
outbox = box.outbox


@dataclass
class DeliveryReport:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    no_recipients: int = 0  # alerts due a message that nobody is set to receive: kept due
    errors: list[str] = field(default_factory=list)


def _routing(store: Store, settings: Settings):
    """brand id -> (threshold, targets), from each brand's routing read once per run."""
    routes = {b.id: route(b, settings) for b in store.brands()}

    def targets(brand_id: int) -> tuple[float, list[Target]]:
        r = routes[brand_id]
        found: list[Target] = [("email", to) for to in r.recipients]
        if r.webhook:
            found.append(("webhook", r.webhook))
        return r.notify_from, found

    return targets


def enqueue_due(store: Store, settings: Settings) -> tuple[int, int]:
    """Queue an email per recipient and a chat post per webhook of each alert that opened or
    rose a level since it was last notified, at or above its brand's threshold.

    Returns (messages queued, alerts left due because their brand has nobody to tell).
    """
    return box.enqueue_due(store, _routing(store, settings))


def enqueue_digest(store: Store, settings: Settings, day: str) -> int:
    """Queue the day's digest; returns how many emails are new (0 when it was queued already)."""
    to = [r.strip() for r in settings.alert_recipients.split(",") if r.strip()]
    return box.enqueue(store, f"digest:{day}", [("email", r) for r in to])


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


_watch = threading.local()  # the deadline of the attempt this thread is making, if any


class _Deadline:
    """Cuts one send attempt off after `seconds`: it shuts the attempt's socket down, so the
    blocking read or write in hand fails at once. Without it a server that answers just inside
    each timeout could hold a message in flight for as long as it liked, and no lease would be
    safe to hand the message to another run."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.cut = seconds, False
        self.socks: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _watch.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        _watch.deadline = None

    def opened(self, sock: socket.socket) -> None:
        self.socks.append(sock)

    def _cut(self) -> None:
        self.cut = True
        for sock in self.socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed, or replaced by its TLS wrapper
                pass


def _opened(sock: socket.socket) -> None:
    deadline = getattr(_watch, "deadline", None)
    if deadline is not None:
        deadline.opened(sock)


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP whose sockets the attempt's deadline can reach (and after STARTTLS too)."""

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        _opened(sock)
        return sock

    def starttls(self, *args, **kwargs):
        reply = super().starttls(*args, **kwargs)
        _opened(self.sock)
        return reply


class _SMTP_SSL(smtplib.SMTP_SSL):  # noqa: N801 - smtplib's own name
    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        _opened(sock)
        return sock


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
        smtp: smtplib.SMTP = _SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                       context=context, timeout=SEND_TIMEOUT_S)
    else:
        smtp = _SMTP(settings.smtp_host, settings.smtp_port, timeout=SEND_TIMEOUT_S)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password.get())
    return smtp


def _message(store: Store, settings: Settings, row):
    if row.key.startswith("digest:"):
        day = row.key.split(":", 1)[1]
        alerts = [*list_alerts(store, status="open", limit=DIGEST_MAX),
                  *list_alerts(store, status="acknowledged", limit=DIGEST_MAX)]
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
        """One attempt, connecting first if need be; cut off at ATTEMPT_DEADLINE_S."""
        with _Deadline(ATTEMPT_DEADLINE_S) as deadline:
            if self.smtp is not None and self.smtp.sock is not None:
                deadline.opened(self.smtp.sock)
            try:
                self._send(msg, last_try)
            except (smtplib.SMTPException, OSError) as exc:
                if deadline.cut:
                    self.close()
                    raise TimeoutError(f"the attempt took over {ATTEMPT_DEADLINE_S:g} s and was "
                                       f"cut off ({_describe(exc)})") from exc
                raise
            except _ConnectFailed as exc:
                if deadline.cut:
                    raise _ConnectFailed(f"connecting took over {ATTEMPT_DEADLINE_S:g} s and "
                                         f"was cut off ({exc})") from exc
                raise

    def _send(self, msg, last_try: bool) -> None:
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
    report = DeliveryReport()
    pending = box.pending_rows(store)
    emails = [r for r in pending if r.channel == "email"]
    _deliver_emails(store, settings, emails, retries, report)
    for row in (r for r in pending if r.channel == "webhook"):
        _claimed(store, row, lambda lease, row=row: _post_row(store, settings, row, retries,
                                                              report, lease))
    return report


class _Lease:
    """This run's claim on one row: renewed before each attempt, so the lease counts from the
    attempt in hand, not from the claim (retries and their backoff can outlast it)."""

    def __init__(self, store: Store, row_id: int, at) -> None:
        self.store, self.row_id, self.at = store, row_id, at

    def renew(self) -> bool:
        self.at = box.renew(self.store, self.row_id, self.at)
        return self.at is not None


def _claimed(store: Store, row, send) -> bool:
    """Run `send` on `row` if this run claims it; a stop, a bug or Ctrl-C hands it back."""
    at = box.claim(store, row.id)
    if at is None:
        return False
    lease = _Lease(store, row.id, at)
    try:
        send(lease)
    except BaseException:
        box.release(store, row.id, status="pending", only_if_sending=True)
        raise
    return True


def _deliver_emails(store: Store, settings: Settings, pending: list, retries: int,
                    report: DeliveryReport) -> None:
    session, left = _Session(settings), len(pending)
    try:
        for row in pending:
            _claimed(store, row, lambda lease, row=row: _deliver_row(
                store, settings, session, row, retries, report, lease))
            left -= 1
    except _Stop as stop:
        report.retry_later += left
        report.errors.append(f"{stop} ({left} messages stay queued)")
    finally:
        session.close(polite=True)


def _post_row(store: Store, settings: Settings, row, retries: int,
              report: DeliveryReport, lease: _Lease) -> None:
    """One chat post: the webhook's URL from the settings, retries with backoff, then a mark."""
    name = f"webhook {row.recipient}"
    try:
        url = webhook_url(row.recipient, settings)
    except ConfigError as exc:  # not the message's fault: kept, uncharged, until it has a URL
        box.release(store, row.id, status="pending", last_error=str(exc)[:500])
        report.retry_later += 1
        report.errors.append(f"{name}: {exc}")
        return
    message = webhook.payload(get(store, row.alert_id), settings.dashboard_url)
    error, refused, wait, attempt = "", False, None, 0
    for attempt in range(1, retries + 1):
        if attempt > 1:
            sleep(min(wait if wait is not None else 2 ** (attempt - 2), 30))
        if not lease.renew():
            return  # the lease ran out (this run was stalled): the row is another run's now
        try:
            webhook.post(url, message, row.key)
        except webhook.Refused as exc:
            error, refused = str(exc), True
            break
        except webhook.Unreachable as exc:
            error, wait = str(exc), exc.wait_s
            log.warning("Posting an alert to %s failed (%s); retrying", name, error)
            continue
        box.release(store, row.id, status="sent", sent_at=utcnow(), message_id=row.key,
                    attempts=row.attempts + attempt, last_error=None)
        report.sent += 1
        return
    _failed(store, row, attempt, error, refused, f"{name}: {error}", report)


def _failed(store: Store, row, attempt: int, error: str, for_good: bool, said: str,
            report: DeliveryReport) -> None:
    attempts = row.attempts + attempt
    status = "failed" if for_good or attempts >= MAX_ATTEMPTS else "pending"
    box.release(store, row.id, status=status, attempts=attempts, last_error=error[:500])
    report.errors.append(said)
    if status == "failed":
        report.failed += 1
    else:
        report.retry_later += 1


def _deliver_row(store: Store, settings: Settings, session: _Session, row, retries: int,
                 report: DeliveryReport, lease: _Lease) -> None:
    msg = _message(store, settings, row)
    error, code, attempt = "", None, 0
    for attempt in range(1, retries + 1):
        if attempt > 1:
            sleep(min(2 ** (attempt - 2), 30))
        if not lease.renew():  # rendering or the backoff outlasted the lease: another run's now
            return
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
        box.release(store, row.id, status="sent", sent_at=utcnow(),
                    message_id=msg["Message-ID"], attempts=row.attempts + attempt,
                    last_error=None)
        report.sent += 1
        return
    _failed(store, row, attempt, error, (code or 0) >= 500, f"{row.recipient}: {error}", report)


def send(store: Store, settings: Settings, digest_day: str | None = None) -> DeliveryReport:
    queued, unaddressed = enqueue_due(store, settings)
    if digest_day:
        queued += enqueue_digest(store, settings, digest_day)
    report = deliver(store, settings)
    report.queued, report.no_recipients = queued, unaddressed
    return report


