"""The outbox lease against a real SMTP server (aiosmtpd on loopback): an email attempt is cut
off at its deadline, so the lease that hands a dead run's claim to another can be short; and what
SMTP cannot settle (a run killed inside the transaction) arrives twice with one Message-ID."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from listener.alerts import delivery
from listener.store import outbox as box
from listener.store import schema
from tests.alerts.test_email import free_port, open_alert, settings_for

REPO = Path(__file__).resolve().parents[2]


class SlowInbox:
    """Answers MAIL, RCPT and the end of DATA each after `delay` s: every reply inside the
    client's socket timeout, the whole transaction longer than its deadline. `reached` is set
    once a message's data has arrived (before the server's reply to it); while `hold` is set
    the reply to the data waits (up to a minute)."""

    def __init__(self, delay: float) -> None:
        self.delay, self.hold = delay, False
        self.messages: list[email.message.EmailMessage] = []
        self.reached = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        self.reached.set()
        await asyncio.sleep(self.delay)
        for _ in range(600):
            if not self.hold:
                break
            await asyncio.sleep(0.1)
        return "250 OK"


@pytest.fixture
def slow_smtp():
    servers = []

    def start(delay: float) -> tuple[SlowInbox, int]:
        inbox, port = SlowInbox(delay), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return inbox, port

    yield start
    for controller in servers:
        controller.stop()


def _age_claims(store, by: timedelta) -> None:
    """What the clock does to a claim left by a dead run (rather than waiting for it)."""
    n = schema.alert_notifications
    with store.engine.begin() as conn:
        conn.execute(update(n).where(n.c.status == "sending")
                     .values(claimed_at=datetime.now(UTC) - by))


def test_the_lease_is_one_attempt_s_deadline_plus_a_margin():
    assert box.ATTEMPT_DEADLINE_S >= 2 * box.SEND_TIMEOUT_S  # a connect and a send, each timed
    assert box.CLAIM_LEASE.total_seconds() == box.ATTEMPT_DEADLINE_S + box.LEASE_MARGIN_S
    assert box.CLAIM_LEASE <= timedelta(minutes=2)  # was 10 minutes


def test_an_attempt_longer_than_its_deadline_is_cut_off_and_retried(sqlite_store, slow_smtp,
                                                                     monkeypatch):
    """Each reply comes 0.4 s after the command, well inside the 1 s socket timeout, so only the
    deadline (1 s) ends the attempt, while the server has the data and before it says 250: the
    one window SMTP cannot close. The message stays due and, when it is sent again, it carries
    the same Message-ID, so the receiver can drop the repeat."""
    monkeypatch.setattr(delivery, "SEND_TIMEOUT_S", 1.0)
    monkeypatch.setattr(delivery, "ATTEMPT_DEADLINE_S", 1.0)
    monkeypatch.setattr(delivery, "sleep", lambda s: None)
    inbox, port = slow_smtp(0.4)
    open_alert(sqlite_store)
    settings = settings_for(port, smtp_user="", alert_recipients="team@brand.test")
    began = time.monotonic()
    report = delivery.send(sqlite_store, settings)
    took = time.monotonic() - began
    assert (report.sent, report.retry_later) == (0, 1), report
    assert took < 3 * 1.0 + 2.0  # three attempts, each cut at its deadline (not 3 x 1.2 s+)
    [row] = delivery.outbox(sqlite_store)
    assert row["status"] == "pending" and row["attempts"] == 3 and row["claimed_at"] is None
    assert "cut off" in row["last_error"]
    assert inbox.messages  # the server had the data each time it was cut off
    # A server that answers in time: sent, and every copy the receiver got has one Message-ID.
    inbox.delay = 0.0
    assert delivery.deliver(sqlite_store, settings).sent == 1
    ids = {m["Message-ID"] for m in inbox.messages}
    assert len(inbox.messages) >= 2 and len(ids) == 1
    assert delivery.outbox(sqlite_store)[0]["message_id"] in ids


def test_a_run_killed_inside_the_smtp_transaction_is_retried_after_the_lease(
        sqlite_store, slow_smtp, tmp_path):
    """kill -9 of `undertow alerts send` while its message's data is at the server: the row is
    left "sending"; within the lease nothing resends it (the killed run might still have been
    sending), after it another run does, and the receiver holds two copies with one Message-ID
    (exactly once is not possible across a crash inside DATA; dropping the repeat is)."""
    inbox, port = slow_smtp(0.0)
    inbox.hold = True  # the reply to the data waits: the kill lands inside the transaction
    open_alert(sqlite_store)
    settings = settings_for(port, smtp_user="", alert_recipients="team@brand.test")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")},
           "UNDERTOW_ID_KEY": os.environ["UNDERTOW_ID_KEY"],
           "UNDERTOW_DATABASE_URL": str(sqlite_store.engine.url),
           "UNDERTOW_HOME": str(tmp_path), "UNDERTOW_ENV_FILE": os.devnull,
           "UNDERTOW_SMTP_HOST": "127.0.0.1", "UNDERTOW_SMTP_PORT": str(port),
           "UNDERTOW_SMTP_SECURITY": "none", "UNDERTOW_ALERT_RECIPIENTS": "team@brand.test",
           "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "listener.cli", "alerts", "send"], env=env,
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert inbox.reached.wait(120), "the message never reached the server"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    [row] = delivery.outbox(sqlite_store)
    assert row["status"] == "sending"
    _age_claims(sqlite_store, box.CLAIM_LEASE - timedelta(seconds=20))
    inbox.hold = False
    assert delivery.deliver(sqlite_store, settings).sent == 0  # still inside the lease
    _age_claims(sqlite_store, box.CLAIM_LEASE + timedelta(seconds=1))
    assert delivery.deliver(sqlite_store, settings).sent == 1
    assert [r["status"] for r in delivery.outbox(sqlite_store)] == ["sent"]
    assert len(inbox.messages) == 2  # what SMTP cannot prevent ...
    assert len({m["Message-ID"] for m in inbox.messages}) == 1  # ... and how it is recognised
