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
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from listener.settings import Settings  # noqa: E402
from scripts import chromium_kit  # noqa: E402

PAGES = ("overview", "alerts", "posts", "engagement", "influencers", "graph")
WIDTH = 1440


def settle(page) -> None:
    chromium_kit.settle(page, timeout_ms=120_000, after_ms=1500)


def shot(page, path: Path) -> None:
    chromium_kit.full_page_shot(page, path, WIDTH, max_height=9000)


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


def capture(base: str, args: argparse.Namespace) -> None:
    """Every page (or only the README's picture) from the dashboard served at `base`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_kit.CHROMIUM,
                                    args=chromium_kit.ARGS, headless=True)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=None, help="store URL (default: the configured store)")
    ap.add_argument("--out", type=Path, default=REPO / "screenshots")
    ap.add_argument("--query", default="", help="URL query for every page, e.g. range=all")
    ap.add_argument("--readme", action="store_true",
                    help="only the README's picture: the Overview's first screen, docs/overview.png")
    args = ap.parse_args()
    url = args.url or Settings.load().db_url
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with chromium_kit.served_dashboard(url, args.out, wait_s=90) as base:
            capture(base, args)
    except RuntimeError as exc:  # the server died or never answered: its log says why
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
