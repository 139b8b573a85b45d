"""What the store holds: init, import, brand, status, prune, erase."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from listener.cli.edge import Context, n, pass_ctx
from listener.store.db import safe_url


@click.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create the database (or bring its schema up to date)."""
    ctx.store.status()  # opening applies the migrations
    click.echo(f"Database ready: {safe_url(ctx.settings.db_url)}")


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", default=None,
              help="csv, jsonl, airline, twarc, reddit, reddit-dump, support or activity (detected "
                   "when not given).")
@click.option("--rejects", type=click.Path(path_type=Path), default=None,
              help="Write every skipped record (file, line, reason) to this TSV file.")
@pass_ctx
def import_(ctx: Context, paths: tuple[Path, ...], fmt: str | None,
            rejects: Path | None) -> None:
    """Import posts from files: Tweets.csv, twarc2 JSONL, Reddit threads, support conversations,
    plain CSV/JSONL."""
    from listener.importers import MAX_LISTED_PROBLEMS, import_file
    from listener.inert import one_line

    unreadable = []
    rejected = open(rejects, "w", encoding="utf-8") if rejects else None  # noqa: SIM115
    for path in paths:
        report = import_file(ctx.store, path, fmt, progress=sys.stderr.isatty())
        if report.records and not (report.imported or report.updated or report.interactions):
            unreadable.append(str(path))
        click.echo(
            f"{path}: {report.format}: {n(report.imported)} new posts, {n(report.updated)} updated, "
            f"{n(report.authors)} authors, {n(report.interactions)} interactions"
        )
        if report.bad_line_count:
            click.echo(f"  skipped {n(report.bad_line_count)} malformed records:")
            for line, reason in report.bad_lines[:MAX_LISTED_PROBLEMS]:
                click.echo(f"    line {line}: {one_line(reason)}")
        if report.skipped_items:
            click.echo(f"  skipped {n(sum(report.skipped_items.values()))} items the source "
                       "could not deliver, we could not map, or the store cannot hold:")
            for detail in report.skipped_details[:MAX_LISTED_PROBLEMS]:
                click.echo(f"    {one_line(detail)}")
        if report.skipped_count > MAX_LISTED_PROBLEMS and not rejected:
            click.echo("  (--rejects FILE lists every skipped record)")
        if rejected:
            rejected.writelines(f"{path}\t{line}\t{one_line(reason)}\n"
                                for line, reason in report.bad_lines)
            rejected.writelines(f"{path}\t\t{one_line(detail)}\n"
                                for detail in report.skipped_details)
        if report.encoding_replaced:
            click.echo(f"  {n(report.encoding_replaced)} lines were not UTF-8; their other bytes "
                       "were read as Windows-1252")
        if report.text_repaired:
            click.echo(f"  {n(report.text_repaired)} texts had mojibake or HTML entities repaired")
    if rejected:
        rejected.close()
        click.echo(f"Skipped records are listed in {rejects}")
    if unreadable:  # every record refused: most likely the wrong --format, not bad data
        hint = f" as {fmt} (is --format right?)" if fmt else ""
        raise click.ClickException(f"No record could be read{hint} in: {', '.join(unreadable)}")


@click.group()
def brand() -> None:
    """Manage brands and their boolean queries."""


def _routing_options(command):
    """`brand add` and `brand edit` route alerts with the same three options."""
    for option in reversed([
        click.option("--recipient", "recipients", multiple=True, metavar="EMAIL",
                     help="Who is emailed this brand's alerts (repeatable; replaces the list; "
                          "default UNDERTOW_ALERT_RECIPIENTS)."),
        click.option("--notify-from", default=None, metavar="LEVEL|SEVERITY",
                     help="Email and post alerts from this level (low, medium, high) or "
                          "severity 0-1."),
        click.option("--webhook", default=None, metavar="NAME",
                     help="Chat webhook: NAME means UNDERTOW_ALERT_WEBHOOK_URL_<NAME> (the URL is "
                          "a secret, kept in the environment or .env), 'default' the global one, "
                          "'off' none."),
    ]):
        command = option(command)
    return command


@brand.command("add")
@click.argument("name")
@click.option("--query", required=True,
              help='Boolean query, e.g. \'united OR @united -"manchester united"\'.')
@click.option("--group", "group", default=None,
              help="Competitor group: brands in one group are compared in share of voice.")
@click.option("--account", "accounts", multiple=True, metavar="PLATFORM:HANDLE",
              help="The brand's own account (repeatable), e.g. --account x:AskUnited: its posts "
                   "are the brand's voice and answers, never counted as mentions.")
@_routing_options
@pass_ctx
def brand_add(ctx: Context, name: str, query: str, group: str | None,
              accounts: tuple[str, ...], recipients: tuple[str, ...], notify_from: str | None,
              webhook: str | None) -> None:
    """Add a brand (or change its query) and tag the stored posts that match it."""
    from listener.store.accounts import parse_account

    for account in accounts:  # a bad one fails before the brand is written
        parse_account(account)
    routing = _routing(recipients, notify_from, webhook)
    known = {b.name.lower(): b for b in ctx.store.brands()}.get(name.lower())
    b, matched = ctx.store.add_brand(name, query, group,
                                     settings=(known.settings if known else {}) | routing)
    if accounts:
        ctx.store.set_accounts(b, accounts)
        matched = ctx.store.brand_post_count(b)
    _brand_summary(ctx, b, matched)


@brand.command("edit")
@click.argument("name")
@click.option("--query", default=None, help="A new boolean query.")
@click.option("--group", "group", default=None, help="A new competitor group ('' for none).")
@click.option("--account", "accounts", multiple=True, metavar="PLATFORM:HANDLE",
              help="The brand's own accounts (repeatable): replaces the list it had.")
@click.option("--no-accounts", is_flag=True, help="Remove every own account of the brand.")
@_routing_options
@pass_ctx
def brand_edit(ctx: Context, name: str, query: str | None, group: str | None,
               accounts: tuple[str, ...], no_accounts: bool, recipients: tuple[str, ...],
               notify_from: str | None, webhook: str | None) -> None:
    """Change a brand's query, group, own accounts or alert routing (only what is given)."""
    if accounts and no_accounts:
        raise click.UsageError("give --account or --no-accounts, not both")
    new_accounts = [] if no_accounts else (list(accounts) if accounts else None)
    routing = _routing(recipients, notify_from, webhook)
    b, matched = ctx.store.edit_brand(name, query, group, new_accounts)
    if routing:
        ctx.store.add_brand(b.name, b.query, b.competitor_group, settings=b.settings | routing)
        b = ctx.store.brand(b.name)
    _brand_summary(ctx, b, matched)


def _routing(recipients: tuple[str, ...], notify_from: str | None,
             webhook: str | None) -> dict:
    """The brand settings `--recipient --notify-from --webhook` ask for (only those given)."""
    from listener.alerts.routing import parse_notify_from, parse_webhook_name

    out: dict = {}
    if recipients:
        bad = [r for r in recipients if "@" not in r or " " in r.strip()]
        if bad:
            raise click.BadParameter(f"not an email address: {', '.join(bad)}",
                                     param_hint="--recipient")
        out["recipients"] = [r.strip() for r in recipients]
    if notify_from is not None:
        out["notify_from"] = parse_notify_from(notify_from)
    if webhook is not None:
        out["webhook"] = parse_webhook_name(webhook)
    return out


def _brand_summary(ctx: Context, b, matched: int) -> None:
    from listener.alerts.routing import route

    click.echo(f"Brand {b.name!r}: {n(matched)} stored posts match {b.query}")
    r = route(b, ctx.settings)
    click.echo(f"  alerts from {r.notify_level} ({r.notify_from:.2f}) to "
               f"{', '.join(r.recipients) or 'nobody by email'}"
               f"{'' if r.own_recipients else ' (global)'}; chat webhook: {r.webhook or 'none'}")
    own = ctx.store.brand_accounts(b)
    if own:
        click.echo(f"  own accounts: {', '.join(own)} (their posts are the brand's voice, not "
                   "mentions)")


@brand.command("retag")
@click.argument("names", nargs=-1)
@pass_ctx
def brand_retag(ctx: Context, names: tuple[str, ...]) -> None:
    """Re-evaluate brand queries over every stored post (all brands, or those named).

    Repairs tags that a crash or an older version's race with an import left incomplete; safe
    while imports run.
    """
    chosen = [ctx.store.brand(name) for name in names] if names else ctx.store.brands()
    if not chosen:
        click.echo("No brands yet: add one with undertow brand add NAME --query '...'")
    for b in chosen:
        before = ctx.store.brand_post_count(b)
        matched = ctx.store.retag(b)
        click.echo(f"Retagged {b.name!r}: {n(matched)} stored posts match "
                   f"({matched - before:+,} against the tags it had)")


@brand.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def brand_list(ctx: Context, as_json: bool) -> None:
    """List brands with their queries and groups."""
    brands = ctx.store.brands()
    if as_json:
        click.echo(json.dumps([{"name": b.name, "query": b.query, "group": b.competitor_group,
                                "accounts": ctx.store.brand_accounts(b)}
                               for b in brands], indent=2))
        return
    if not brands:
        click.echo("No brands yet: add one with undertow brand add NAME --query '...'")
    for b in brands:
        own = ", ".join(ctx.store.brand_accounts(b))
        click.echo(f"{b.name:<20} {b.competitor_group or '-':<12} {b.query}"
                   + (f"  [own: {own}]" if own else ""))


@brand.command("remove")
@click.argument("name")
@pass_ctx
def brand_remove(ctx: Context, name: str) -> None:
    """Remove a brand (its posts stay; only the tags go)."""
    ctx.store.remove_brand(name)
    click.echo(f"Removed brand {name!r}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Counts per brand and platform, the work still waiting, and each source's last pass."""
    from listener.store.metrics import backlog, source_passes

    s = ctx.store.status()
    waiting = backlog(ctx.store)
    s["backlog"] = {"unscored": waiting.unscored, "model_version": waiting.model_version,
                    "outbox": waiting.outbox}
    s["sources"] = source_passes(ctx.store)
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(f"Database: {safe_url(ctx.settings.db_url)}")
    click.echo(f"Posts {n(s['posts'])}, authors {n(s['authors'])}, interactions "
               f"{n(s['interactions'])}, scored {n(s['scored'])}, alerts {n(s['alerts'])} "
               f"({n(s['open_alerts'])} open or acknowledged), watch items {n(s['watch_items'])}")
    width = max(map(len, [*s["per_platform"], *s["per_brand"]]), default=0)
    for platform, count in sorted(s["per_platform"].items()):
        click.echo(f"  platform {platform:<{width}} {n(count):>10} posts")
    for name, count in sorted(s["per_brand"].items()):
        click.echo(f"  brand    {name:<{width}} {n(count):>10} posts")
    pending = waiting.outbox.get("pending", 0) + waiting.outbox.get("sending", 0)
    click.echo(f"Backlog: {n(waiting.unscored)} posts not scored"
               + (f" by {waiting.model_version}" if waiting.model_version else "")
               + f", {n(pending)} alert emails waiting to be sent")
    for name, p in sorted(s["sources"].items()):
        last = str(p.get("last_success") or "never")[:19].replace("T", " ")
        state = "ok" if p.get("last_ok") else f"failed: {p.get('last_error')}"
        click.echo(f"  source   {name:<{width}} last success {last} UTC; last pass {state}")


@click.command()
@pass_ctx
def prune(ctx: Context) -> None:
    """Delete posts older than UNDERTOW_RETENTION_DAYS (per platform: _DAYS_<PLATFORM>)."""
    from listener.store.retention import prune as run_prune

    report = run_prune(ctx.store, ctx.settings.retention_for)
    if not report.cutoffs:
        click.echo("Retention is off (UNDERTOW_RETENTION_DAYS=0): nothing removed")
        return
    for platform, cutoff in report.cutoffs.items():
        click.echo(f"  {platform}: removing what was posted and stored before {cutoff[:16]} UTC")
    removed = ", ".join(f"{n(v)} {k}" for k, v in sorted(report.removed.items()) if v) or "nothing"
    click.echo(f"Pruned: {removed}. Daily counts per brand and sentiment are kept.")


def _split_subject(value: str) -> tuple[str, str]:
    platform, sep, ident = value.partition(":")
    if not sep or not ident:
        raise click.BadParameter("use PLATFORM:HANDLE_OR_ID, e.g. x:@someone or reddit:t1_abc")
    return platform.lower(), ident


@click.command()
@click.option("--author", default=None, help="PLATFORM:HANDLE_OR_ID, e.g. x:@someone")
@click.option("--post", "post", default=None, help="PLATFORM:POST_ID, e.g. x:1440716895355764743")
@pass_ctx
def erase(ctx: Context, author: str | None, post: str | None) -> None:
    """Erase an author (or one post) and everything that identifies them, and remember it."""
    from listener.store.erasure import erase_author, erase_post

    if bool(author) == bool(post):
        raise click.UsageError("give exactly one of --author or --post")
    store = ctx.store
    if author:
        platform, ident = _split_subject(author)
        report = erase_author(store, platform, ident, store.erasure_key(),
                              exports=ctx.settings.home / "exports")
    else:
        platform, ident = _split_subject(post)
        report = erase_post(store, platform, ident, store.erasure_key())
    removed = ", ".join(f"{n(v)} {k}" for k, v in sorted(report.removed.items()) if v) or "nothing"
    click.echo(f"Erased {report.subject}: removed {removed}")
    if report.redacted:
        click.echo("  redacted mentions in " + ", ".join(
            f"{n(v)} {k}" for k, v in sorted(report.redacted.items())))
    for path in report.files:
        click.echo(f"  deleted export {path}")
    click.echo("  recorded (as a keyed hash) so later collection will not bring it back")


COMMANDS = [init, import_, brand, status, prune, erase]
