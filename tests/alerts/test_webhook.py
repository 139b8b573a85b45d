"""Chat webhooks end to end against a real HTTP server on loopback (http.server in a thread)."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import update

from listener.alerts import delivery, webhook
from listener.settings import Secret, Settings
from listener.store import alerts, outbox, schema

TOKEN = "T000/B000/XXXXsecretTOKEN"
EVIDENCE = {"kind": "cascade", "triggers": ["growth"],
            "root_posts": [{"id": 1, "author": "here", "text": "<!channel> @channel [x](http://e)"
                            " <http://evil|click>\nforged line & more"}],
            "forecast": {"final": 900, "low": 500, "high": 1500, "p_viral": 0.9, "observed": 80,
                         "age_min": 25}, "posts": 80}


class Hook:
    def __init__(self):
        self.replies: list[int] = []  # status codes to answer, in order; then 200
        self.bodies: list[tuple[dict, dict]] = []


@pytest.fixture
def hook():
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            code = state.replies.pop(0) if state.replies else 200
            if code == 200:
                state.bodies.append((dict(self.headers), body))
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code == 200 else b"no_service")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/services/{TOKEN}"
    yield state
    server.shutdown()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    waits = []
    monkeypatch.setattr(delivery, "sleep", waits.append)
    return waits


def settings_for(url, **extra) -> Settings:
    return Settings(**({"dashboard_url": "http://dash.test", "alert_webhook_url": Secret(url)}
                       | extra))


def open_alert(store, severity=0.95):
    brand, _ = store.add_brand("Acme", "acme")
    return alerts.upsert_story(store, brand.id, "cascade:1", severity, "Post by @here spreading",
                               EVIDENCE)[0]


def test_an_alert_is_posted_once_neutralised_with_its_link(store, hook, caplog):
    alert_id = open_alert(store)
    s = settings_for(hook.url)
    report = delivery.send(store, s)
    assert (report.queued, report.sent, report.failed) == (1, 1, 0)
    assert delivery.send(store, s).sent == 0  # never twice
    [(headers, body)] = hook.bodies
    text = body["text"]
    assert f"http://dash.test/?alert={alert_id}" in text
    assert headers["X-Undertow-Delivery"] == f"alert:{alert_id}:high"
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "@channel" not in text and "](" not in text and "<http" not in text
    assert "forged line" in text and "\nforged" not in text  # no line of its own
    rows = outbox.outbox(store)
    assert [(r["channel"], r["recipient"], r["status"]) for r in rows] == [
        ("webhook", "default", "sent")]
    assert TOKEN not in json.dumps(rows, default=str) and TOKEN not in caplog.text


def test_transient_failures_are_retried_with_backoff_and_kept(sqlite_store, hook, no_waiting):
    open_alert(sqlite_store)
    hook.replies = [503, 500, 502]
    report = delivery.send(sqlite_store, settings_for(hook.url))
    assert (report.sent, report.retry_later) == (0, 1) and no_waiting == [1, 2]
    [row] = outbox.outbox(sqlite_store)
    assert (row["status"], row["attempts"]) == ("pending", 3) and "503" not in row["last_error"]
    assert TOKEN not in (row["last_error"] or "") and TOKEN not in " ".join(report.errors)
    assert delivery.deliver(sqlite_store, settings_for(hook.url)).sent == 1  # next run
    assert len(hook.bodies) == 1


def test_a_refusal_fails_at_once_and_an_unset_url_keeps_it_due(sqlite_store, hook):
    open_alert(sqlite_store)
    hook.replies = [404]
    report = delivery.send(sqlite_store, settings_for(hook.url))
    assert report.failed == 1 and outbox.outbox(sqlite_store)[0]["attempts"] == 1
    brand = sqlite_store.brand("Acme")
    alerts.upsert_story(sqlite_store, brand.id, "cascade:2", 0.95, "Another", EVIDENCE)
    sqlite_store.add_brand("Acme", "acme", settings={"webhook": "acme"})
    report = delivery.send(sqlite_store, settings_for(hook.url))
    assert report.retry_later == 1
    assert "UNDERTOW_ALERT_WEBHOOK_URL_ACME" in " ".join(report.errors)
    named = settings_for("", alert_webhook_urls={"acme": Secret(hook.url)})
    assert delivery.deliver(sqlite_store, named).sent == 1


def test_a_crash_between_send_and_mark_resends_after_the_lease_with_the_same_id(
        sqlite_store, hook, monkeypatch):
    open_alert(sqlite_store)
    s = settings_for(hook.url)
    real = outbox.release

    def crash(store, row_id, only_if_sending=False, **values):
        if values.get("status") == "sent":
            raise KeyboardInterrupt("killed after the server answered")
        real(store, row_id, only_if_sending, **values)

    monkeypatch.setattr(outbox, "release", crash)
    with pytest.raises(KeyboardInterrupt):
        delivery.send(sqlite_store, s)
    monkeypatch.setattr(outbox, "release", real)
    n = schema.alert_notifications
    with sqlite_store.engine.begin() as conn:  # as a killed process would leave it
        conn.execute(update(n).values(status="sending", claimed_at=datetime.now(UTC)))
    assert delivery.deliver(sqlite_store, s).sent == 0  # within the lease: not sent again
    with sqlite_store.engine.begin() as conn:
        conn.execute(update(n).values(claimed_at=datetime.now(UTC) - timedelta(minutes=11)))
    assert delivery.deliver(sqlite_store, s).sent == 1
    ids = [h["X-Undertow-Delivery"] for h, _ in hook.bodies]
    assert len(ids) == 2 and ids[0] == ids[1]  # the repeat is recognisable
    assert [r["status"] for r in outbox.outbox(sqlite_store)] == ["sent"]


def test_neutralise():
    assert webhook.neutralise("<@U1> & @here\r\n[a](b)") == "&lt;@\u200bU1&gt; &amp; @\u200bhere [a]\u200b(b)"
