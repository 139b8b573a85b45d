"""Driving the real dashboard in Debian's headless Chromium: shared by the browser tests and
`scripts/dashboard_screenshots.py`, so both serve, wait and photograph pages the same way.

Never a browser Playwright downloads (`bash scripts/install-browser.sh` installs Chromium).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from listener.cli.dashboard import streamlit_argv

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_dashboard(url: str, folder: Path, *, wait_s: float = 60) -> Iterator[str]:
    """`undertow dashboard` on the store at `url`, on a free loopback port, with its log in
    `folder/streamlit.log`; yields its address. A server that dies or never answers raises with
    its log, so a failure says why."""
    port = free_port()
    env = {**os.environ, "UNDERTOW_DATABASE_URL": url}
    env.pop("UNDERTOW_DASHBOARD_PASSWORD", None)
    log_path = folder / "streamlit.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(streamlit_argv(port, "127.0.0.1"), env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def settle(page, timeout_ms: int = 60_000, after_ms: int = 1200) -> None:
    """Until a page title is drawn, the script run is over and the charts are in."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMain\"] h1') &&"
        " !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)
    page.wait_for_timeout(after_ms)


def full_page_shot(page, path: Path, width: int, max_height: int = 8000) -> None:
    """The whole page (Streamlit scrolls inside its main section, so grow the viewport)."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, max_height)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": 1000})
