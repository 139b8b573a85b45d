"""The root command group and what every command shares.

`UndertowGroup.invoke` is the single place where Undertow's own errors (listener.errors) become
`Error: ...` on stderr and exit status 1; click's usage errors keep their exit status 2. No
command catches and prints an error itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import click

from listener import id_key
from listener.errors import UndertowError
from listener.logs import configure as configure_logs
from listener.settings import Settings
from listener.store import Privacy, Store

__all__ = ["Context", "RegistryChoice", "RegistryOption", "UndertowGroup", "main", "n", "pass_ctx",
           "progress", "when"]


class UndertowGroup(click.Group):
    """A group whose invocation turns Undertow's errors into one clear line, never a traceback.

    Subcommands run inside the root's `invoke`, so converting there covers every command.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UndertowError as exc:
            raise click.ClickException(str(exc)) from None


class RegistryOption(click.Option):
    """An option whose help is built from the collector registry when help is shown, not at
    import: loading every collector imports every client library, and most commands need none."""

    def __init__(self, *args: Any, help_from: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_from = help_from

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = self.help_from()
        return super().get_help_record(ctx)


class RegistryChoice(click.Choice):
    """A choice among names read from the registry when the option is parsed or shown."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self._names = names
        self.case_sensitive = True

    @property
    def choices(self) -> Sequence[str]:  # type: ignore[override]
        return tuple(self._names())


class Context:
    """What commands share: the settings and, opened on first use, the store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            s = self.settings
            privacy = Privacy(s.pseudonymise, s.pseudonym_threshold, s.pseudonym_key.get().encode())
            self._store = Store.open(s.db_url, privacy, id_key.load(s))
        return self._store


pass_ctx = click.make_pass_decorator(Context)


def n(value: int) -> str:
    return f"{value:,}"


def progress(message: str) -> None:
    """Progress lines go to stderr, so stdout carries only results (and JSON stays parseable)."""
    click.echo(message, err=True)


def when(value: str | None) -> datetime | None:
    """An ISO 8601 option value, or a usage error that shows the format."""
    from listener.mapping.text import parse_time

    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{exc}: use ISO 8601, e.g. 2015-02-20 or 2015-02-20T14:00Z") from None


@click.group(cls=UndertowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", "database_url", envvar=None, default=None,
              help="Database URL (overrides UNDERTOW_DATABASE_URL).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, verbose: bool) -> None:
    """Undertow: hear what customers say about your brands, who amplifies it, and when it spreads."""
    settings = Settings.load()
    if database_url:
        settings.database_url = database_url
    if not isinstance(logging.getLevelName(settings.log_level.upper()), int):
        raise click.ClickException(f"UNDERTOW_LOG_LEVEL={settings.log_level!r} is not a logging "
                                   "level: use DEBUG, INFO, WARNING or ERROR.")
    configure_logs("DEBUG" if verbose else settings.log_level.upper(), settings.log_format)
    if not verbose:  # prawcore logs each of its own retries; ours report the outcome once
        logging.getLogger("prawcore").setLevel(logging.ERROR)
    ctx.obj = Context(settings)
