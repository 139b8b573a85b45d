"""Where `bench/live.py`'s alerts land: an SMTP server (aiosmtpd on loopback) and a chat-webhook
receiver, each recording when every message arrived. The SMTP server can be taken down and
brought back on the same port (the soak's outage)."""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

__all__ = ["Arrival", "Mailbox", "WebhookReceiver", "free_port"]

_ALERT_IN_LINK = re.compile(r"[?&]alert=(\d+)")
_ALERT_IN_CHAT = re.compile(r"Alert #(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Arrival:
    at: float
    key: str  # Message-ID (email) or X-Undertow-Delivery (webhook): one per message
    recipient: str
    alert_id: int | None


@dataclass
class _Log:
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, arrival: Arrival) -> None:
        with self.lock:
            self.arrivals.append(arrival)

    def snapshot(self) -> list[Arrival]:
        with self.lock:
            return list(self.arrivals)


class Mailbox(_Log):
    """aiosmtpd on 127.0.0.1:`port`; `down()` stops it (connections refused), `up()` restarts."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__()
        self.port = port or free_port()
        self._controller: Controller | None = None
        self.outages: list[tuple[float, float | None]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        msg = email.message_from_bytes(envelope.content)
        body = ""
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                body += part.get_payload(decode=True).decode("utf-8", "replace")
        found = _ALERT_IN_LINK.search(body)
        for rcpt in envelope.rcpt_tos:
            self.add(Arrival(time.time(), str(msg.get("Message-ID")), rcpt,
                             int(found.group(1)) if found else None))
        return "250 OK"

    def up(self) -> None:
        if self._controller is None:
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self._controller.start()
            if self.outages and self.outages[-1][1] is None:
                self.outages[-1] = (self.outages[-1][0], time.time())

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            self.outages.append((time.time(), None))

    @property
    def is_up(self) -> bool:
        return self._controller is not None


class WebhookReceiver(_Log):
    """A Slack-style incoming webhook on 127.0.0.1 that answers 200 and records each post."""

    def __init__(self) -> None:
        super().__init__()
        log = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                import json

                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    text = json.loads(raw).get("text", "")
                except ValueError:
                    text = ""
                found = _ALERT_IN_CHAT.search(text)
                log.add(Arrival(time.time(), self.headers.get("X-Undertow-Delivery") or "",
                                self.path, int(found.group(1)) if found else None))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, fmt: str, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name="webhook").start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
