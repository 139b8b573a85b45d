"""`undertow compliance`: a thin wrapper over listener.compliance.run.

Progress goes to stderr, the report to stdout; a platform that could not be checked (or whose
check stopped on an API error) makes the exit status 1, because unchecked posts are not compliant.
"""

from __future__ import annotations

import threading

import click

from listener.cli.edge import RegistryChoice, progress
from listener.collectors import registry
from listener.collectors.job import stop_on_signals
from listener.compliance import platforms, run

__all__ = ["COMMANDS", "compliance"]


@click.command()
@click.option("--platform", type=RegistryChoice(platforms), default=None,
              help="Only this platform (default: every platform with stored posts).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Check at most this many posts per platform; the next run continues the "
                   "sweep where this one stopped.")
@click.option("--country", "countries", multiple=True, metavar="CODE",
              help="Where the data is shown (ISO code, repeatable, e.g. --country DE): X posts "
                   "withheld there are removed. Env: UNDERTOW_COMPLIANCE_COUNTRIES=DE,FR.")
def compliance(platform: str | None, limit: int | None, countries: tuple[str, ...]) -> None:
    """Remove stored posts their platform says are deleted, protected, suspended or withheld.

    Asks each platform whose collector checks compliance (X: batch lookup, Reddit: /api/info)
    about the stored posts, 100 a request, and removes what is gone together with its scores, brand tags and interactions. Reddit posts
    whose author deleted their account stay without the author. A sweep resumes where the last
    run stopped and starts over once it has reached the end.
    """
    ctx = click.get_current_context().obj
    # The setting (environment or .env) applies when no --country is given.
    given = countries or (ctx.settings.compliance_countries,)
    codes = [c for value in given for c in value.replace(",", " ").split()]
    stop = threading.Event()
    with stop_on_signals(stop, progress):
        reports = run(ctx.store, ctx.settings, platform=platform, limit=limit,
                      countries=codes, echo=progress, stop=stop)
    if not reports:
        titles = " or ".join(registry.load(name).title for name in platforms())
        click.echo(f"No stored {titles} posts: nothing to check")
    for report in reports:
        for line in report.lines():
            click.echo(line)
    failed = [r.title for r in reports if r.error]
    if failed:
        raise click.ClickException(f"{', '.join(failed)} not fully checked (see above); "
                                   "what was checked is saved")


COMMANDS = [compliance]
