"""Screenshots of every dashboard page at 1440 px, in headless Chromium (Debian's, no download).

    python scripts/dashboard_screenshots.py [--url sqlite:///PATH] [--out screenshots/] [--query Q]

Serves `undertow dashboard` on the store at --url (default: the configured one, e.g. the demo's
after `undertow demo`) on a free loopback port, opens each page with the URL query --query
(e.g. "brand=United&range=all"), waits for the charts and writes <out>/<page>.png of the whole
page; then clicks the volume chart's highest point and writes overview-drill.png.
`--readme` writes only the README's picture, docs/overview.png (after `make demo`).
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from listener.cli.dashboard import streamlit_argv  # noqa: E402
from listener.settings import Settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ("overview", "alerts", "posts", "engagement", "influencers", "graph")
WIDTH = 1440


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settle(page) -> None:
    """Until a title is drawn, the script run is over and the charts are in."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMain\"] h1') &&"
        " !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    page.wait_for_timeout(1500)


def shot(page, path: Path) -> None:
    """The whole page (Streamlit scrolls inside its main section, so grow the viewport)."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, 9000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": WIDTH, "height": 1000})


def click_highest_point(page) -> bool:
    """Click the volume chart's highest point (Vega draws points as SVG paths with aria
    labels, or on a canvas: then the chart's upper third is clicked at its peak column)."""
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    box = chart.bounding_box()
    if box is None:
        return False
    points = chart.locator("path[aria-roledescription='point']")
    if points.count():
        best, top = None, 1e9
        for i in range(points.count()):
            b = points.nth(i).bounding_box()
            if b and b["y"] < top:
                best, top = b, b["y"]
        if best:
            page.mouse.click(best["x"] + best["width"] / 2, best["y"] + best["height"] / 2)
            return True
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=None, help="store URL (default: the configured store)")
    ap.add_argument("--out", type=Path, default=REPO / "screenshots")
    ap.add_argument("--query", default="", help="URL query for every page, e.g. range=all")
    ap.add_argument("--readme", action="store_true",
                    help="only the README's picture: the Overview's first screen, docs/overview.png")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    url = args.url or Settings.load().db_url
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "UNDERTOW_DATABASE_URL": url}
    env.pop("UNDERTOW_DASHBOARD_PASSWORD", None)
    log = open(args.out / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(streamlit_argv(port, "127.0.0.1"), env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((args.out / "streamlit.log").read_text()) from None
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
            if args.readme:
                page.set_viewport_size({"width": WIDTH, "height": 900})
                page.goto(f"{base}/?{'&'.join(q for q in ('page=overview', args.query) if q)}")
                settle(page)
                page.screenshot(path=str(REPO / "docs" / "overview.png"))
                print(f"Wrote {REPO / 'docs' / 'overview.png'}")
                return
            for name in PAGES:
                query = "&".join(q for q in (f"page={name}", args.query) if q)
                page.goto(f"{base}/?{query}")
                settle(page)
                shot(page, args.out / f"{name}.png")
                print(f"Wrote {args.out / f'{name}.png'}")
            page.goto(f"{base}/?{'&'.join(q for q in ('page=overview', args.query) if q)}")
            settle(page)
            if click_highest_point(page):
                page.wait_for_timeout(2500)  # the click's rerun starts after a moment
                settle(page)
                shot(page, args.out / "overview-drill.png")
                print(f"Wrote {args.out / 'overview-drill.png'}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


if __name__ == "__main__":
    main()
