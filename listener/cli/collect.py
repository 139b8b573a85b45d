"""`undertow collect` and `undertow listen`: thin wrappers over listener.collectors.job.

Progress goes to stderr (so stdout carries only the summary).
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime

import click

from listener.cli.edge import RegistryOption, progress
from listener.collectors import job, registry
from listener.collectors.base import Streams
from listener.logs import json_mode

__all__ = ["COMMANDS", "collect", "listen", "parse_duration", "parse_interval"]

_UNITS = {"s": 1, "m": 60, "h": 3600}


_log = logging.getLogger("undertow.listen")


def _stamped(message: str) -> None:
    """A progress line with the time; a JSON log record instead when logs are JSON."""
    if json_mode():
        _log.info(message)
    else:
        click.echo(f"{datetime.now(UTC):%H:%M:%S} {message}", err=True)


def parse_duration(text: str) -> float:
    """'30s', '5m', '1h' or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r}: expected a duration such as 30s, 5m or 1h")
    return float(match.group(1)) * _UNITS.get(match.group(2) or "s", 1)


def platform_help() -> str:
    """The --platform help: every registered source, installed plugins included."""
    return (f"Only this source (repeatable): {', '.join(registry.available())}. Their settings: "
            "docs/collectors.md.")


def every_help() -> str:
    """The --every help, with each source's own default interval."""
    defaults = ", ".join(f"{registry.load(name).title} {_duration(registry.load(name).default_interval)}"
                         for name in registry.available())
    return ("Time between passes of a source, e.g. x=15m, reddit=300 (repeatable). "
            f"Defaults: {defaults}.")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


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
@click.option("--platform", "platforms", multiple=True, cls=RegistryOption,
              help_from=platform_help)
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
@click.option("--platform", "platforms", multiple=True, cls=RegistryOption,
              help_from=platform_help)
@click.option("--every", "intervals", multiple=True, metavar="PLATFORM=DURATION",
              cls=RegistryOption, help_from=every_help)
@click.option("--stream/--no-stream", default=False, cls=RegistryOption,
              help_from=lambda: "Also follow the live stream of each source that has one ("
              + ", ".join(registry.load(name).title for name in registry.with_ability(Streams))
              + "), its rules synced from the brands.")
@click.option("--pipeline-every", "pipeline_every", default="30s", show_default=True,
              metavar="DURATION",
              help="While streamed posts arrive, score, detect and send alerts this often "
                   "(polled sources run them after every pass).")
@click.option("--themes-every", "themes_every", default="60s", show_default=True,
              metavar="DURATION",
              help="Find complaint themes at most this often, in a lower-priority thread beside "
                   "scoring and detection (0: after detection on every run, in line).")
@click.option("--metrics", "metrics", default=None, metavar="HOST:PORT",
              help="Serve /healthz and Prometheus /metrics here, e.g. 127.0.0.1:9464 "
                   "(default: UNDERTOW_METRICS_ADDRESS; off when empty).")
@click.option("--score/--no-score", "score", default=None,
              help="Score sentiment in the listener's own pipeline (default: "
                   "UNDERTOW_LISTEN_SCORE, true). --no-score leaves it to `undertow score "
                   "--follow` processes; detection and alerts still run here.")
def listen(platforms: tuple[str, ...], intervals: tuple[str, ...], stream: bool,
           pipeline_every: str, themes_every: str, metrics: str | None,
           score: bool | None) -> None:
    """Collect continuously on a schedule until Ctrl-C or SIGTERM, then stop cleanly.

    Each pass collects what is new since the last; rate-limit waits and the time of the next
    pass are printed. On a stop signal the page in hand is saved before exiting.
    """
    from listener.jobs.pipeline import ThemesRunner, after_collect
    from listener.service import ServiceState, serve_at

    ctx = click.get_current_context().obj
    if score is not None:
        ctx.settings.listen_score = score
    every = dict(parse_interval(text) for text in intervals)
    period = parse_duration(pipeline_every)
    themes_runner = ThemesRunner(0.0 if themes_every.strip() in ("0", "0s")
                                 else parse_duration(themes_every))
    address = metrics if metrics is not None else ctx.settings.metrics_address
    state = ServiceState(stale_after_s=max(300.0, 3 * period, *every.values()))
    server = serve_at(ctx.store, state, address, _stamped)
    stop = threading.Event()
    try:
        with job.stop_on_signals(stop, _stamped):
            _stamped("Listening; press Ctrl-C to stop" + (
                "" if ctx.settings.listen_score else
                " (scoring left to `undertow score --follow`: UNDERTOW_LISTEN_SCORE=false)"))
            summary = job.listen(ctx.store, ctx.settings, platforms=platforms, intervals=every,
                                 stream=stream, echo=_stamped, stop=stop,
                                 after_pass=lambda new: after_collect(ctx.store, ctx.settings,
                                                                      new, _stamped,
                                                                      themes_runner, stop),
                                 pipeline_every=period, state=state)
        themes_runner.join(timeout=15)  # its files are replaced whole: stopping mid-run is safe
        if themes_runner.running:
            _stamped("Themes: a run was still going at the stop; the next start takes it up")
    finally:
        if server is not None:
            server.shutdown()
    # A long run meets transient failures that later passes made good; only a source that
    # stopped for good (credentials refused) makes the exit status non-zero.
    _finish(summary, [f"{s.title}: {s.error}" for s in summary.sources if s.error])


COMMANDS = [collect, listen]
