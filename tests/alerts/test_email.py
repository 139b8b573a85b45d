"""Alert emails end to end through a real SMTP server on loopback (aiosmtpd)."""

import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from listener.alerts import delivery
from listener.settings import Secret, Settings
from listener.store import alerts

XSS = "<script>alert('x')</script> my bag <img src=x onerror=alert(1)>"
EVIDENCE = {
    "reasons": ["forecast 2,400 reposts (top quarter)", "quoted by @TravelDeskNews"],
    "root_posts": [{"id": 1, "author": "critic<b>", "text": XSS, "url": "https://x.com/c/status/1",
                    "reposts": 120}],
    "influencers": [{"handle": "TravelDeskNews", "followers": 1_800_000, "rank": 1}],
    "growth": [{"t": "2026-03-01T10:00:00+00:00", "size": 1},
               {"t": "2026-03-01T10:10:00+00:00", "size": 8},
               {"t": "2026-03-01T10:30:00+00:00", "size": 95}],
    "forecast": {"final": 2400, "low": 1500, "high": 3800},
    "themes": [{"term": "Lost Luggage", "posts": 12}, {"term": "Customer Service Issue", "posts": 5}],
}


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos,
                              email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret-pw"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield inbox, port
    controller.stop()


def settings_for(port, **extra) -> Settings:
    values = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_user="bot",
                  smtp_password=Secret("s3cret-pw"), dashboard_url="http://dash.test:8501",
                  alert_recipients="team@brand.test, cmo@brand.test")
    return Settings(**(values | extra))


def open_alert(store, severity=0.95):
    brand, _ = store.add_brand("United", "@united", "airlines")
    alert_id, outcome = alerts.upsert_story(store, brand.id, "story-1", severity,
                                            "Lost luggage complaint spreading", EVIDENCE)
    assert outcome == "opened"
    return alert_id


def test_alert_email_arrives_escaped_with_chart(store, smtp_server, monkeypatch):
    monkeypatch.setattr(delivery, "sleep", lambda s: None)
    inbox, port = smtp_server
    alert_id = open_alert(store)
    report = delivery.send(store, settings_for(port))
    assert (report.queued, report.sent, report.failed) == (2, 2, 0)
    assert sorted(r[0] for r, _ in inbox.messages) == ["cmo@brand.test", "team@brand.test"]
    msg = inbox.messages[0][1]
    assert msg["Subject"].startswith("[Undertow high] United: Lost luggage")
    plain = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    assert XSS in plain  # plain text is shown as is
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "onerror=alert(1)>" not in html_part
    assert f"http://dash.test:8501/?alert={alert_id}" in html_part
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content()[:4] == b"\x89PNG"
    assert "s3cret-pw" not in msg.as_string()
    assert "Forecast final size: 2,400 (likely 1,500-3,800)" in plain
    assert "Lost Luggage (12)" in plain
    # Nothing new: nothing sent again.
    assert delivery.send(store, settings_for(port)).sent == 0 and len(inbox.messages) == 2


def test_escalation_sends_again_but_updates_do_not(sqlite_store, smtp_server):
    inbox, port = smtp_server
    brand, _ = sqlite_store.add_brand("Delta", "@delta", "airlines")
    alerts.upsert_story(sqlite_store, brand.id, "s", 0.5, "low story", EVIDENCE)
    delivery.send(sqlite_store, settings_for(port, alert_recipients="a@b.test"))
    assert inbox.messages == []  # low alerts stay on the dashboard
    alerts.upsert_story(sqlite_store, brand.id, "s", 0.75, "medium story", EVIDENCE)
    delivery.send(sqlite_store, settings_for(port, alert_recipients="a@b.test"))
    alerts.upsert_story(sqlite_store, brand.id, "s", 0.8, "medium story", EVIDENCE)
    delivery.send(sqlite_store, settings_for(port, alert_recipients="a@b.test"))
    assert len(inbox.messages) == 1
    alerts.upsert_story(sqlite_store, brand.id, "s", 0.95, "now high", EVIDENCE)
    delivery.send(sqlite_store, settings_for(port, alert_recipients="a@b.test"))
    assert [m["Subject"].split("]")[0] for _, m in inbox.messages] == ["[Undertow medium",
                                                                       "[Undertow high"]


def test_failed_send_is_kept_and_retried_never_lost(sqlite_store, smtp_server, monkeypatch):
    monkeypatch.setattr(delivery, "sleep", lambda s: None)
    inbox, port = smtp_server
    open_alert(sqlite_store)
    dead = settings_for(free_port())  # nobody listens there
    report = delivery.send(sqlite_store, dead)
    assert report.sent == 0 and report.retry_later == 2 and "ConnectionRefused" in report.errors[0]
    assert all(r["status"] == "pending" for r in delivery.outbox(sqlite_store))
    report = delivery.deliver(sqlite_store, settings_for(port))
    assert report.sent == 2 and len(inbox.messages) == 2
    assert delivery.deliver(sqlite_store, settings_for(port)).sent == 0


def test_wrong_password_is_reported_not_logged(sqlite_store, smtp_server, monkeypatch, caplog):
    monkeypatch.setattr(delivery, "sleep", lambda s: None)
    _, port = smtp_server
    open_alert(sqlite_store)
    bad = settings_for(port, alert_recipients="x@y.test")
    bad.smtp_password = Secret("wrong-pw-123")
    report = delivery.send(sqlite_store, bad)
    assert report.sent == 0 and "UNDERTOW_SMTP_PASSWORD" in report.errors[0]
    assert delivery.outbox(sqlite_store)[0]["status"] == "pending"  # kept for the next run
    assert delivery.outbox(sqlite_store)[0]["attempts"] == 0
    assert "wrong-pw-123" not in caplog.text and "wrong-pw-123" not in str(report.errors)


@pytest.fixture
def tls_server(tmp_path):
    """A server that requires STARTTLS, with a certificate from a private CA (the cert itself)."""
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticator)
    controller.start()
    yield inbox, port, cert
    controller.stop()


def test_starttls_with_a_private_ca(sqlite_store, tls_server):
    inbox, port, cert = tls_server
    open_alert(sqlite_store)
    s = settings_for(port, smtp_ca_file=str(cert), alert_recipients="tls@brand.test")
    s.smtp_security = "starttls"
    assert delivery.send(sqlite_store, s).sent == 1
    assert inbox.messages[0][0] == ["tls@brand.test"]


def test_daily_digest_counts_and_lists_what_is_open(sqlite_store, smtp_server):
    """Open alerts whatever their (stream) time: a replayed week's alerts are weeks old."""
    inbox, port = smtp_server
    first = open_alert(sqlite_store)
    brand = sqlite_store.brand("United")
    weeks_ago = datetime(2026, 2, 23, 10, tzinfo=UTC)
    old, _ = alerts.upsert_story(sqlite_store, brand.id, "story-old", 0.75, "Old <b>story</b>", {},
                                 now=weeks_ago)
    seen, _ = alerts.upsert_story(sqlite_store, brand.id, "story-seen", 0.8, "Seen story", {},
                                  now=weeks_ago)
    gone, _ = alerts.upsert_story(sqlite_store, brand.id, "story-gone", 0.8, "Gone story", {})
    alerts.change_status(sqlite_store, seen, "acknowledged", "Ana")
    alerts.change_status(sqlite_store, gone, "resolved", "Bo")
    day = datetime.now(UTC).date().isoformat()
    s = settings_for(port, alert_recipients="d@b.test")
    delivery.enqueue_due(sqlite_store, s)  # the alert's own email first
    delivery.deliver(sqlite_store, s)
    report = delivery.send(sqlite_store, s, digest_day=day)
    assert report.sent == 1
    digest = inbox.messages[-1][1]
    assert digest["Subject"] == f"[Undertow] Daily digest {day}: 2 open alerts, 1 acknowledged"
    plain = digest.get_body(("plain",)).get_content()
    page = digest.get_body(("html",)).get_content()
    for part in (plain, page):
        for alert_id in (first, old, seen):
            assert f"http://dash.test:8501/?alert={alert_id}" in part
        assert "Gone story" not in part and f"?alert={gone}" not in part
        assert "acknowledged by Ana" in part
    assert "Old &lt;b&gt;story&lt;/b&gt;" in page and "<b>story" not in page
    assert plain.index(f"?alert={first}") < plain.index(f"?alert={old}")  # most severe first
    again = delivery.send(sqlite_store, s, digest_day=day)
    assert (again.queued, again.sent) == (0, 0)  # once a day, and not reported as queued


def test_a_digest_with_nothing_open_says_so_in_both_parts(sqlite_store, smtp_server):
    inbox, port = smtp_server
    s = settings_for(port, alert_recipients="d@b.test")
    assert delivery.send(sqlite_store, s, digest_day="2026-03-02").sent == 1
    digest = inbox.messages[-1][1]
    assert digest["Subject"] == "[Undertow] Daily digest 2026-03-02: 0 open alerts"
    assert "No open alerts." in digest.get_body(("plain",)).get_content()
    assert "No open alerts." in digest.get_body(("html",)).get_content()


def test_lifecycle_cooldown_and_reopen(sqlite_store):
    brand, _ = sqlite_store.add_brand("JetBlue", "@jetblue", "airlines")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    aid, _ = alerts.upsert_story(sqlite_store, brand.id, "k", 0.75, "t", {}, now=t0)
    assert alerts.change_status(sqlite_store, aid, "acknowledged", "tester")[0].status == "acknowledged"
    assert alerts.upsert_story(sqlite_store, brand.id, "k", 0.8, "t", {}, now=t0)[1] == "updated"
    assert alerts.upsert_story(sqlite_store, brand.id, "k", 0.92, "t", {}, now=t0)[1] == "reopened"
    resolved = alerts.change_status(sqlite_store, aid, "resolved", "tester")[0]
    soon = resolved.resolved_at + timedelta(hours=1)
    assert alerts.upsert_story(sqlite_store, brand.id, "k", 0.95, "t", {}, now=soon)[1] == "cooling down"
    later = resolved.resolved_at + timedelta(hours=7)
    assert alerts.upsert_story(sqlite_store, brand.id, "k", 0.95, "t", {}, now=later)[1] == "reopened"
    assert len(alerts.list_alerts(sqlite_store)) == 1


def test_alerts_without_recipients_stay_due_until_someone_is_set(sqlite_store, smtp_server):
    inbox, port = smtp_server
    open_alert(sqlite_store)
    report = delivery.send(sqlite_store, settings_for(port, alert_recipients=""))
    assert (report.queued, report.sent, report.no_recipients) == (0, 0, 1)
    report = delivery.send(sqlite_store, settings_for(port, alert_recipients="ops@brand.test"))
    assert (report.queued, report.sent, report.no_recipients) == (1, 1, 0)
    assert [r[0] for r, _ in inbox.messages] == ["ops@brand.test"]


@pytest.fixture
def tries(monkeypatch):
    """Counts connections and backoff sleeps, to prove what is and is not retried."""
    seen = {"connects": 0, "sleeps": []}
    connect = delivery._connect

    def counting(settings):
        seen["connects"] += 1
        return connect(settings)

    monkeypatch.setattr(delivery, "_connect", counting)
    monkeypatch.setattr(delivery, "sleep", seen["sleeps"].append)
    return seen


def two_alerts(store) -> None:
    open_alert(store)
    brand = store.brands()[0]
    alerts.upsert_story(store, brand.id, "story-2", 0.8, "Second story", EVIDENCE)


def assert_all_pending_untouched(store, count):
    rows = delivery.outbox(store)
    assert len(rows) == count
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in rows)


def test_server_without_starttls_stops_the_run_at_once(sqlite_store, smtp_server, tries):
    inbox, port = smtp_server  # offers no STARTTLS
    two_alerts(sqlite_store)
    report = delivery.send(sqlite_store, settings_for(port, smtp_security="starttls"))
    assert (report.queued, report.sent, report.retry_later, report.failed) == (4, 0, 4, 0)
    assert tries == {"connects": 1, "sleeps": []}
    assert len(report.errors) == 1 and "STARTTLS" in report.errors[0]
    assert "UNDERTOW_SMTP_SECURITY" in report.errors[0]
    assert_all_pending_untouched(sqlite_store, 4)
    # Fixed settings send each message once.
    assert delivery.deliver(sqlite_store, settings_for(port)).sent == 4 and len(inbox.messages) == 4


@pytest.mark.parametrize("case", ["ssl to a plain server", "untrusted certificate"])
def test_tls_failures_stop_the_run_at_once(sqlite_store, smtp_server, tls_server, tries, case):
    if case == "ssl to a plain server":
        s, setting = settings_for(smtp_server[1], smtp_security="ssl"), "UNDERTOW_SMTP_SECURITY"
    else:  # no UNDERTOW_SMTP_CA_FILE for the private CA
        s, setting = settings_for(tls_server[1], smtp_security="starttls"), "UNDERTOW_SMTP_CA_FILE"
    two_alerts(sqlite_store)
    report = delivery.send(sqlite_store, s)
    assert (report.sent, report.retry_later) == (0, 4)
    assert tries == {"connects": 1, "sleeps": []}
    assert len(report.errors) == 1 and setting in report.errors[0]
    assert_all_pending_untouched(sqlite_store, 4)


def test_unreachable_server_is_retried_once_per_run_not_per_message(sqlite_store, tries):
    two_alerts(sqlite_store)
    report = delivery.send(sqlite_store, settings_for(free_port()))  # nobody listens there
    assert (report.sent, report.retry_later, report.failed) == (0, 4, 0)
    assert tries == {"connects": 3, "sleeps": [1, 2]}
    assert len(report.errors) == 1 and "ConnectionRefused" in report.errors[0]
    assert "UNDERTOW_SMTP_HOST" in report.errors[0]
    assert_all_pending_untouched(sqlite_store, 4)  # the server's outage is not the messages' fault


class PickyInbox(Inbox):
    """Refuses one mailbox for good (550) and has another one busy for now (450)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_recipient_refusals_stay_per_message(sqlite_store, tries):
    inbox, port = PickyInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        open_alert(sqlite_store)
        s = settings_for(port, alert_recipients="gone@brand.test, busy@brand.test, ok@brand.test")
        report = delivery.send(sqlite_store, s)
    finally:
        controller.stop()
    assert (report.sent, report.failed, report.retry_later) == (1, 1, 1)
    assert tries == {"connects": 1, "sleeps": [1, 2]}  # only the 4xx is retried, on one connection
    rows = {r["recipient"]: r for r in delivery.outbox(sqlite_store)}
    assert (rows["gone@brand.test"]["status"], rows["gone@brand.test"]["attempts"]) == ("failed", 1)
    assert "550" in rows["gone@brand.test"]["last_error"]
    assert (rows["busy@brand.test"]["status"], rows["busy@brand.test"]["attempts"]) == ("pending", 3)
    assert rows["ok@brand.test"]["status"] == "sent"
    assert [r for r, _ in inbox.messages] == [["ok@brand.test"]]


def test_ack_and_resolve_follow_the_lifecycle(sqlite_store):
    from listener.errors import UndertowError

    brand, _ = sqlite_store.add_brand("JetBlue", "@jetblue", "airlines")
    aid, _ = alerts.upsert_story(sqlite_store, brand.id, "k", 0.75, "t", {})
    acked, changed = alerts.change_status(sqlite_store, aid, "acknowledged", "tester")
    assert (acked.status, changed) == ("acknowledged", True)
    again, changed = alerts.change_status(sqlite_store, aid, "acknowledged", "tester")
    assert (again.status, changed, again.updated_at) == ("acknowledged", False, acked.updated_at)
    resolved, changed = alerts.change_status(sqlite_store, aid, "resolved", "tester")
    assert (resolved.status, changed) == ("resolved", True)
    again, changed = alerts.change_status(sqlite_store, aid, "resolved", "tester")
    assert (changed, again.resolved_at) == (False, resolved.resolved_at)  # cooldown not restarted
    with pytest.raises(alerts.InvalidTransition, match="resolved") as refused:
        alerts.change_status(sqlite_store, aid, "acknowledged", "tester")
    assert isinstance(refused.value, UndertowError)
    assert alerts.get(sqlite_store, aid).status == "resolved"


def test_a_story_that_reopens_after_its_cooldown_is_emailed_again(sqlite_store, smtp_server):
    inbox, port = smtp_server
    settings = settings_for(port, alert_recipients="a@b.test")
    brand, _ = sqlite_store.add_brand("Alaska", "@alaska", "airlines")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    aid, _ = alerts.upsert_story(sqlite_store, brand.id, "k", 0.95, "bags", EVIDENCE, now=t0)
    assert delivery.send(sqlite_store, settings).sent == 1
    resolved = alerts.change_status(sqlite_store, aid, "resolved", "tester")[0]
    later = resolved.resolved_at + timedelta(hours=7)
    outcome = alerts.upsert_story(sqlite_store, brand.id, "k", 0.95, "bags", EVIDENCE, now=later)
    assert outcome[1] == "reopened"
    assert delivery.send(sqlite_store, settings).sent == 1  # same level as before: news again
    ids = [m["Message-ID"] for _, m in inbox.messages]
    assert len(ids) == 2 and len(set(ids)) == 2


def test_message_ids_are_the_same_in_every_process():
    """A resend must be recognisable: str hash() is salted per process, the Message-ID not."""
    code = ("from listener.alerts.render import _message_id; "
            "print(_message_id('alert.1.high', 'Team@Brand.test'))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(runs) == 1 and runs.pop().startswith("<alert.1.high.")


def test_no_password_goes_out_in_clear_to_another_machine(sqlite_store, smtp_server):
    from listener.errors import ConfigError

    inbox, port = smtp_server
    open_alert(sqlite_store)
    remote = settings_for(port, smtp_host="mail.example.test")  # security "none" with a login
    with pytest.raises(ConfigError, match="would send the SMTP password in clear"):
        delivery.send(sqlite_store, remote)
    assert_all_pending_untouched(sqlite_store, 2)
    assert delivery.send(sqlite_store, settings_for(port)).sent == 2  # loopback relay: fine


def test_two_overlapping_runs_queue_an_alert_once(store, smtp_server):
    """`listen` after a pass and a cron `alerts send` may decide the same alert is due."""
    from sqlalchemy import event

    inbox, port = smtp_server
    settings = settings_for(port, alert_recipients="a@b.test")
    brand, _ = store.add_brand("United", "@united", "airlines")
    alerts.upsert_story(store, brand.id, "k", 0.95, "t", EVIDENCE)
    other_run: list = []

    def right_after_reading_due_alerts(conn, cursor, statement, *args):
        if not other_run and "FROM alerts" in statement and "notified_severity" in statement:
            other_run.append(None)  # once: the other run's own reads pass through
            other_run[0] = delivery.enqueue_due(store, settings)  # it commits first

    event.listen(store.engine, "after_cursor_execute", right_after_reading_due_alerts)
    try:
        late = delivery.enqueue_due(store, settings)
    finally:
        event.remove(store.engine, "after_cursor_execute", right_after_reading_due_alerts)
    assert other_run == [(1, 0)] and late == (0, 0)
    assert [r["key"] for r in delivery.outbox(store)] == ["alert:1:high"]
    assert delivery.deliver(store, settings).sent == 1 and len(inbox.messages) == 1


def test_a_refusing_greeting_keeps_messages_queued(sqlite_store, tries):
    """A 554 greeting ("too many connections") refuses the connection, not the message."""
    port = free_port()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                continue
            client.sendall(b"554 5.7.1 Too many connections, try later\r\n")
            client.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        two_alerts(sqlite_store)
        report = delivery.send(sqlite_store, settings_for(port))
    finally:
        stop.set()
        thread.join()
        server.close()
    assert report.failed == 0 and report.retry_later == 4  # two alerts, two recipients
    assert "Could not reach the SMTP server" in report.errors[0]
    assert_all_pending_untouched(sqlite_store, 4)


def test_two_overlapping_deliveries_send_each_message_once(store, smtp_server):
    from sqlalchemy import event

    inbox, port = smtp_server
    settings = settings_for(port)
    open_alert(store)
    delivery.enqueue_due(store, settings)
    other_run: list = []

    def just_before_claiming(conn, cursor, statement, params, *args):
        if not other_run and statement.startswith("UPDATE alert_notifications") \
                and "sending" in str(params) and "WHERE alert_notifications.id" in statement:
            other_run.append(None)  # this run has read the outbox; the other one now sends all
            other_run[0] = delivery.deliver(store, settings).sent

    event.listen(store.engine, "before_cursor_execute", just_before_claiming)
    try:
        late = delivery.deliver(store, settings)
    finally:
        event.remove(store.engine, "before_cursor_execute", just_before_claiming)
    assert other_run == [2] and late.sent == 0 and len(inbox.messages) == 2


def test_a_claim_left_by_a_dead_run_expires(sqlite_store, smtp_server):
    from sqlalchemy import update

    from listener.store import schema

    inbox, port = smtp_server
    open_alert(sqlite_store)
    delivery.enqueue_due(sqlite_store, settings_for(port))
    n = schema.alert_notifications
    with sqlite_store.engine.begin() as conn:  # a run took both, then was killed mid-send
        conn.execute(update(n).values(status="sending", claimed_at=datetime.now(UTC)))
    assert delivery.deliver(sqlite_store, settings_for(port)).sent == 0  # it may still send
    with sqlite_store.engine.begin() as conn:
        conn.execute(update(n).values(claimed_at=datetime.now(UTC) - timedelta(minutes=11)))
    assert delivery.deliver(sqlite_store, settings_for(port)).sent == 2
    assert [r["status"] for r in delivery.outbox(sqlite_store)] == ["sent", "sent"]


def test_alerts_at_the_same_severity_rank_the_bigger_story_first(store):
    brand, _ = store.add_brand("Virgin", "@virgin", "airlines")
    for key, posts in (("small", 23), ("big", 779), ("no-size", None)):
        evidence = EVIDENCE | ({"posts": posts} if posts else {})
        alerts.upsert_story(store, brand.id, key, 1.0, f"{key} story", evidence)
    assert [a.title for a in alerts.list_alerts(store)] == ["big story", "small story",
                                                            "no-size story"]


def test_a_crafted_handle_cannot_break_the_subject_or_block_later_mail(sqlite_store, smtp_server,
                                                                        monkeypatch):
    monkeypatch.setattr(delivery, "sleep", lambda s: None)
    inbox, port = smtp_server
    brand, _ = sqlite_store.add_brand("United", "@united", "airlines")
    alerts.upsert_story(sqlite_store, brand.id, "story-x", 0.95,
                        "@evil\r\nBcc: victim@example.com\x1b[2J spreading", EVIDENCE)
    report = delivery.send(sqlite_store, settings_for(port))
    assert (report.sent, report.failed) == (2, 0)
    subject = inbox.messages[0][1]["Subject"]
    assert "\r" not in subject and "\n" not in subject and "\x1b" not in subject
    assert "Bcc" not in {k for k in inbox.messages[0][1].keys()}
    assert subject.endswith("@evil Bcc: victim@example.com␛[2J spreading")


def test_a_story_that_stops_growing_resolves_itself_and_reopens_when_it_grows(sqlite_store):
    brand, _ = sqlite_store.add_brand("Frontier", "@frontier", "airlines")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    aid, _ = alerts.upsert_story(sqlite_store, brand.id, "k", 0.85, "t", {"posts": 60}, now=t0)
    stalled = t0 + timedelta(hours=2)
    why = "stopped growing: no new posts for 120 min, at 60 posts"
    assert alerts.upsert_story(sqlite_store, brand.id, "k", 0.2, "t", {"posts": 60}, now=stalled,
                               active=False, resolution=why)[1] == "resolved"
    done = alerts.get(sqlite_store, aid)
    assert (done.status, done.resolved_by, done.resolved_at, done.severity) == (
        "resolved", alerts.SYSTEM, stalled, 0.2)  # decayed, and says why
    assert done.evidence["resolution"] == why
    # A little news below the reporting level keeps it resolved; growth re-opens it at once
    # (no cooldown: nobody decided it was over).
    soon = stalled + timedelta(minutes=30)
    assert alerts.upsert_story(sqlite_store, brand.id, "k", 0.4, "t", {"posts": 61},
                               now=soon)[1] == "updated"
    assert alerts.get(sqlite_store, aid).status == "resolved"
    again = alerts.upsert_story(sqlite_store, brand.id, "k", 0.9, "t", {"posts": 90}, now=soon)
    assert again[1] == "reopened"
    back = alerts.get(sqlite_store, aid)
    assert (back.status, back.resolved_by) == ("open", None) and "resolution" not in back.evidence
    # Resolved by a person, the cooldown holds however the story moves.
    alerts.change_status(sqlite_store, aid, "resolved", "tester")
    assert alerts.upsert_story(sqlite_store, brand.id, "k", 0.95, "t", {}, now=soon,
                               active=False)[1] == "cooling down"
    # A watch item that stops growing stays a watch item; one that reached the reporting level
    # before it stopped (seen only once, by a first run over old posts) is an alert, resolved.
    wid, _ = alerts.upsert_story(sqlite_store, brand.id, "w", 0.3, "t", {}, now=t0)
    assert alerts.upsert_story(sqlite_store, brand.id, "w", 0.1, "t", {}, now=stalled,
                               active=False)[1] == "watching"
    assert alerts.get(sqlite_store, wid).status == "watch"
    oid, outcome = alerts.upsert_story(sqlite_store, brand.id, "o", 1.0, "t", {}, now=t0,
                                       active=False, resolution=why)
    assert outcome == "opened" and alerts.get(sqlite_store, oid).status == "resolved"
