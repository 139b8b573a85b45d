"""`undertow collect` and `undertow listen`: thin wrappers over listener.collectors.job.

Progress goes to stderr (so stdout carries only the summary).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import click

from listener.cli.edge import progress
from listener.collectors import job, registry

__all__ = ["COMMANDS", "collect", "listen", "parse_interval"]

_UNITS = {"s": 1, "m": 60, "h": 3600}


def _stamped(message: str) -> None:
    click.echo(f"{datetime.now(UTC):%H:%M:%S} {message}", err=True)


# Static, so `undertow --help` need not scan the installed packages for plugins.
PLATFORM_HELP = ("Only this source (repeatable): x, reddit, bluesky, mastodon, news, or an installed "
                 "plugin's name.")


def _finish(summary: job.Summary, failures: list[str]) -> None:
    for line in summary.lines():
        click.echo(line)
    if failures:
        raise click.ClickException(f"{len(failures)} part(s) of the collection failed "
                                   "(listed above); what was collected is saved")


def parse_interval(text: str) -> tuple[str, float]:
    """'x=15m' -> ('x', 900.0); units s, m, h (seconds when none)."""
    match = re.fullmatch(r"\s*([\w.-]+)\s*=\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise click.BadParameter(f"{text!r}: expected PLATFORM=DURATION, e.g. x=15m or reddit=300")
    name, value, unit = match.groups()
    if name not in registry.available():
        raise click.BadParameter(f"{name!r} is not a source; sources: "
                                 f"{', '.join(registry.available())}")
    return name, float(value) * _UNITS.get(unit or "s", 1)


@click.command()
@click.option("--platform", "platforms", multiple=True, help=PLATFORM_HELP)
@click.option("--brand", "brands", multiple=True,
              help="Only this brand (repeatable); watched subreddits are skipped.")
def collect(platforms: tuple[str, ...], brands: tuple[str, ...]) -> None:
    """Collect what is new for every brand, once, from each configured source.

    Each source resumes where the last run stopped; a rerun adds nothing already stored.
    Ctrl-C saves the page in hand and stops.
    """
    ctx = click.get_current_context().obj
    stop = threading.Event()
    with job.stop_on_signals(stop, progress):
        summary = job.collect(ctx.store, ctx.settings, platforms=platforms,
                              brand_names=brands, echo=progress, stop=stop)
    _finish(summary, summary.failures)


@click.command()
@click.option("--platform", "platforms", multiple=True, help=PLATFORM_HELP)
@click.option("--every", "intervals", multiple=True, metavar="PLATFORM=DURATION",
              help="Time between passes of a source, e.g. x=15m, reddit=300 (repeatable). "
                   "Defaults: X 15 min, Reddit 5 min, Bluesky and Mastodon 10 min, News 15 min.")
@click.option("--stream/--no-stream", default=False,
              help="Also follow X's filtered stream live (rules synced from the brands).")
def listen(platforms: tuple[str, ...], intervals: tuple[str, ...], stream: bool) -> None:
    """Collect continuously on a schedule until Ctrl-C or SIGTERM, then stop cleanly.

    Each pass collects what is new since the last; rate-limit waits and the time of the next
    pass are printed. On a stop signal the page in hand is saved before exiting.
    """
    ctx = click.get_current_context().obj
    every = dict(parse_interval(text) for text in intervals)
    stop = threading.Event()
    with job.stop_on_signals(stop, _stamped):
        _stamped("Listening; press Ctrl-C to stop")
        from listener.jobs.pipeline import after_collect

        summary = job.listen(ctx.store, ctx.settings, platforms=platforms, intervals=every,
                             stream=stream, echo=_stamped, stop=stop,
                             after_pass=lambda new: after_collect(ctx.store, ctx.settings,
                                                                  new, _stamped))
    # A long run meets transient failures that later passes made good; only a source that
    # stopped for good (credentials refused) makes the exit status non-zero.
    _finish(summary, [f"{s.title}: {s.error}" for s in summary.sources if s.error])


COMMANDS = [collect, listen]
