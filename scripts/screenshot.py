"""Screenshots of the dashboard on a store, in headless Chromium (Debian's, never a download).

    python scripts/screenshot.py [--url DATABASE_URL] [--out docs] [--width 1440] [PAGE ...]

Defaults to the store `undertow demo` fills (UNDERTOW_DATABASE_URL, else UNDERTOW_HOME's
SQLite file) and the Overview; `docs/overview.png` in the README is made this way after
`make demo`. Pages are the sidebar's link names: Overview Alerts Posts Engagement Influencers
"Graph explorer".
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from listener.cli.dashboard import streamlit_argv
from listener.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the dashboard did not start (exit code {proc.poll()})")
            time.sleep(0.3)


def _settle(page) -> None:
    """Until the page's title is drawn, its script run is over and the charts are in."""
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMain\"] h1') &&"
        " !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)
    page.wait_for_timeout(2500)


def shoot(url: str, out: Path, pages: list[str], width: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "UNDERTOW_DATABASE_URL": url}
    env.pop("UNDERTOW_DASHBOARD_PASSWORD", None)
    proc = subprocess.Popen(streamlit_argv(port, "127.0.0.1"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    written = []
    try:
        _wait_healthy(base, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(base)
            _settle(page)
            for name in pages:
                if name != "Overview":
                    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
                    _settle(page)
                path = out / f"{name.lower().replace(' ', '-')}.png"
                page.screenshot(path=str(path))
                written.append(path)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", default=["Overview"])
    parser.add_argument("--url", default=None, help="database URL (default: the demo's store)")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: run bash scripts/install-browser.sh")
    args.out.mkdir(parents=True, exist_ok=True)
    url = args.url or Settings.load().db_url
    for path in shoot(url, args.out, args.pages, args.width):
        print(path)


if __name__ == "__main__":
    main()
