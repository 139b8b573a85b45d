"""The `undertow` command. Thin: parse, call a job, turn Undertow errors into one clear line."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import click

from listener.errors import UndertowError
from listener.settings import Settings
from listener.store import Privacy, Store


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            s = self.settings
            privacy = Privacy(s.pseudonymise, s.pseudonym_threshold, s.pseudonym_key.get().encode())
            self._store = Store.open(s.db_url, privacy)
        return self._store


pass_ctx = click.make_pass_decorator(Context)


def friendly(fn: Callable) -> Callable:
    """Undertow's own errors become `Error: ...` and exit 1, never a traceback."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UndertowError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def n(value: int) -> str:
    return f"{value:,}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", "database_url", envvar=None, default=None,
              help="Database URL (overrides UNDERTOW_DATABASE_URL).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, verbose: bool) -> None:
    """Undertow: hear what customers say about your brands, who amplifies it, and when it spreads."""
    try:
        settings = Settings.load()
    except UndertowError as exc:
        raise click.ClickException(str(exc)) from None
    if database_url:
        settings.database_url = database_url
    if not isinstance(logging.getLevelName(settings.log_level.upper()), int):
        raise click.ClickException(f"UNDERTOW_LOG_LEVEL={settings.log_level!r} is not a logging "
                                   "level: use DEBUG, INFO, WARNING or ERROR.")
    logging.basicConfig(level="DEBUG" if verbose else settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:  # prawcore logs each of its own retries; ours report the outcome once
        logging.getLogger("prawcore").setLevel(logging.ERROR)
    ctx.obj = Context(settings)


@main.command()
@pass_ctx
@friendly
def init(ctx: Context) -> None:
    """Create the database (or bring its schema up to date)."""
    ctx.store.status()  # opening applies the migrations
    click.echo(f"Database ready: {_safe_url(ctx.settings.db_url)}")


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", default=None,
              help="csv, jsonl, airline, twarc, reddit, support or activity (detected when not "
                   "given).")
@pass_ctx
@friendly
def import_(ctx: Context, paths: tuple[Path, ...], fmt: str | None) -> None:
    """Import posts from files: Tweets.csv, twarc2 JSONL, Reddit thread JSON, support conversations, CSV/JSONL."""
    from listener.importers import import_file

    unreadable = []
    for path in paths:
        report = import_file(ctx.store, path, fmt, progress=sys.stderr.isatty())
        if report.bad_line_count and report.bad_line_count == report.records:
            unreadable.append(str(path))
        click.echo(
            f"{path}: {report.format}: {n(report.imported)} new posts, {n(report.updated)} updated, "
            f"{n(report.authors)} authors, {n(report.interactions)} interactions"
        )
        if report.bad_line_count:
            click.echo(f"  skipped {n(report.bad_line_count)} malformed records:")
            for line, reason in report.bad_lines:
                click.echo(f"    line {line}: {reason}")
        if report.skipped_items:
            click.echo(f"  the source reported {n(sum(report.skipped_items.values()))} items it "
                       "could not deliver or we could not map:")
            for detail in report.skipped_details:
                click.echo(f"    {detail}")
        if report.encoding_replaced:
            click.echo(f"  {n(report.encoding_replaced)} lines had invalid UTF-8; the bad bytes "
                       "were replaced with U+FFFD")
        if report.text_repaired:
            click.echo(f"  {n(report.text_repaired)} texts had mojibake or HTML entities repaired")
    if unreadable:  # every record refused: most likely the wrong --format, not bad data
        hint = f" as {fmt} (is --format right?)" if fmt else ""
        raise click.ClickException(f"No record could be read{hint} in: {', '.join(unreadable)}")


@main.group()
def brand() -> None:
    """Manage brands and their boolean queries."""


@brand.command("add")
@click.argument("name")
@click.option("--query", required=True,
              help='Boolean query, e.g. \'united OR @united -"manchester united"\'.')
@click.option("--group", "group", default=None,
              help="Competitor group: brands in one group are compared in share of voice.")
@click.option("--account", "accounts", multiple=True, metavar="PLATFORM:HANDLE",
              help="The brand's own account (repeatable), e.g. --account x:AskUnited: its posts "
                   "are the brand's voice and answers, never counted as mentions.")
@pass_ctx
@friendly
def brand_add(ctx: Context, name: str, query: str, group: str | None,
              accounts: tuple[str, ...]) -> None:
    """Add a brand (or change its query) and tag the stored posts that match it."""
    from listener.store.accounts import parse_account

    for account in accounts:  # a bad one fails before the brand is written
        parse_account(account)
    b, matched = ctx.store.add_brand(name, query, group)
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
@pass_ctx
@friendly
def brand_edit(ctx: Context, name: str, query: str | None, group: str | None,
               accounts: tuple[str, ...], no_accounts: bool) -> None:
    """Change a brand's query, group or own accounts (only what is given) and re-tag."""
    if accounts and no_accounts:
        raise click.UsageError("give --account or --no-accounts, not both")
    new_accounts = [] if no_accounts else (list(accounts) if accounts else None)
    b, matched = ctx.store.edit_brand(name, query, group, new_accounts)
    _brand_summary(ctx, b, matched)


def _brand_summary(ctx: Context, b, matched: int) -> None:
    click.echo(f"Brand {b.name!r}: {n(matched)} stored posts match {b.query}")
    own = ctx.store.brand_accounts(b)
    if own:
        click.echo(f"  own accounts: {', '.join(own)} (their posts are the brand's voice, not "
                   "mentions)")


@brand.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
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
@friendly
def brand_remove(ctx: Context, name: str) -> None:
    """Remove a brand (its posts stay; only the tags go)."""
    ctx.store.remove_brand(name)
    click.echo(f"Removed brand {name!r}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def status(ctx: Context, as_json: bool) -> None:
    """Counts of posts, authors, interactions, scores and alerts, per brand and platform."""
    s = ctx.store.status()
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(f"Database: {_safe_url(ctx.settings.db_url)}")
    click.echo(f"Posts {n(s['posts'])}, authors {n(s['authors'])}, interactions "
               f"{n(s['interactions'])}, scored {n(s['scored'])}, alerts {n(s['alerts'])} "
               f"({n(s['open_alerts'])} open or acknowledged)")
    width = max(map(len, [*s["per_platform"], *s["per_brand"]]), default=0)
    for platform, count in sorted(s["per_platform"].items()):
        click.echo(f"  platform {platform:<{width}} {n(count):>10} posts")
    for name, count in sorted(s["per_brand"].items()):
        click.echo(f"  brand    {name:<{width}} {n(count):>10} posts")


@main.command()
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True,
              help="Length of the simulated week.")
@pass_ctx
@friendly
def demo(ctx: Context, days: int) -> None:
    """Load the bundled sample data and run every pipeline stage on it."""
    from listener.jobs.demo import run_demo

    run_demo(ctx.store, ctx.settings, days=days, echo=click.echo)


@main.command()
@click.option("--model", default=None,
              help="Hugging Face model id or local path (default: UNDERTOW_SENTIMENT_MODEL or the "
                   "bundled model).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Posts claimed per commit.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Stop after this many posts.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for the model.")
@click.option("--int8/--no-int8", default=None,
              help="int8 dynamic quantisation: about 2x faster on a CPU, a little less exact "
                   "(default: UNDERTOW_SENTIMENT_INT8).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_ctx
@friendly
def score(ctx: Context, model: str | None, batch_size: int, limit: int | None,
          threads: int | None, int8: bool | None, as_json: bool) -> None:
    """Score the sentiment of every post not yet scored by the current model version."""
    from listener.jobs.score import default_scorer, score_posts

    if model:
        ctx.settings.sentiment_model = model
    if int8 is not None:
        ctx.settings.sentiment_int8 = int8
    scorer = default_scorer(ctx.settings, threads=threads)
    report = score_posts(ctx.store, scorer, batch_size=batch_size, limit=limit,
                         progress=sys.stderr.isatty() and not as_json)
    if as_json:
        click.echo(json.dumps({"model_version": report.model_version, "scored": report.scored,
                               "model_calls": report.model_calls,
                               "from_cache": report.from_cache,
                               "seconds": round(report.seconds, 2)}))
        return
    click.echo(f"Scored {n(report.scored)} posts with {report.model_version} in "
               f"{report.seconds:.1f} s ({report.posts_per_s:,.0f} posts/s; "
               f"{n(report.model_calls)} model calls, {n(report.from_cache)} from the cache)")


@main.group()
@click.pass_context
def nlp(ctx: click.Context) -> None:
    """Train and evaluate the bundled sentiment model."""
    # nlp/ reads no settings file (it is a library): hand it UNDERTOW_SHARED_DATA from .env too.
    os.environ.setdefault("UNDERTOW_SHARED_DATA", str(ctx.obj.settings.shared_data))


@nlp.command("train", context_settings={"ignore_unknown_options": True,
                                        "allow_extra_args": True})
@click.pass_context
def nlp_train(ctx: click.Context) -> None:
    """Reproduce the bundled model (seeded); options: see `undertow nlp train --help-train`."""
    from nlp import train

    args = ["--help" if a == "--help-train" else a for a in ctx.args]
    raise SystemExit(train.main(args))


@nlp.command("evaluate", context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})
@click.pass_context
def nlp_evaluate(ctx: click.Context) -> None:
    """Report accuracy, macro-F1 and macro-recall on held-out data; see --help-evaluate."""
    from nlp import evaluate

    args = ["--help" if a == "--help-evaluate" else a for a in ctx.args]
    raise SystemExit(evaluate.main(args))


def _when(value: str | None):
    from listener.mapping.text import parse_time

    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{exc}: use ISO 8601, e.g. 2015-02-20 or 2015-02-20T14:00Z") from None


@main.command("rank")
@click.option("--brand", default=None, help="Rank within one brand's conversation.")
@click.option("--since", default=None, help="Only interactions from this time (ISO 8601).")
@click.option("--until", default=None, help="Only interactions before this time (ISO 8601).")
@click.option("--keep", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Authors saved per run.")
@pass_ctx
@friendly
def rank_cmd(ctx: Context, brand: str | None, since: str | None, until: str | None,
             keep: int) -> None:
    """Rank influencers by measured reach and save the run (scores with their components)."""
    from listener.jobs.rank import rank

    report = rank(ctx.store, brand, _when(since), _when(until), keep=keep, echo=click.echo)
    if report.run_id is not None:
        click.echo(f"Run #{report.run_id}: ranked {n(report.authors)} authors from "
                   f"{n(report.edges)} interactions, {n(report.communities)} communities, "
                   f"in {report.seconds:.1f} s")


@main.command()
@click.option("--brand", default=None, help="The brand's own ranking (default: everything).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def influencers(ctx: Context, brand: str | None, top: int, as_json: bool) -> None:
    """The latest ranking: who amplifies the conversation, and why (score components)."""
    from listener.jobs.rank import top_influencers

    rows = top_influencers(ctx.store, brand, top)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("No ranking yet: run `undertow rank`" + (f" --brand {brand!r}" if brand else ""))
        return
    click.echo(f"{'rank':>4}  {'author':<24} {'followers':>10} {'influence':>9} {'amplified':>9} "
               f"{'amplifiers':>10} {'reach':>7} {'neg share':>9}")
    for r in rows:
        c = r["components"]
        followers = "" if r["followers"] is None else n(r["followers"])
        click.echo(f"{r['rank']:>4}  {(r['handle'] or str(r['author_id']))[:24]:<24} "
                   f"{followers:>10} {r['influence']:>9.1f} {c.get('amplification', 0):>9.1f} "
                   f"{c.get('unique_amplifiers', 0):>10.0f} {c.get('reach', 0):>7.0f} "
                   f"{c.get('negative_share') or 0:>9.0%}")


@main.group("graph")
def graph_group() -> None:
    """Export the interaction graph for analysts (Gephi, spreadsheets)."""


@graph_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["gexf", "graphml", "csv"]), default="gexf",
              show_default=True)
@click.option("--brand", default=None)
@click.option("--since", default=None)
@click.option("--top", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Most influential authors kept in GEXF/GraphML (CSV holds everyone).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="File (gexf, graphml) or folder; for csv, NAME.csv writes NAME-nodes.csv and "
                   "NAME-edges.csv. Default: UNDERTOW_HOME/exports.")
@pass_ctx
@friendly
def graph_export(ctx: Context, fmt: str, brand: str | None, since: str | None, top: int,
                 out: Path | None) -> None:
    """Write the amplification graph with scores and communities as GEXF, GraphML or CSV."""
    from listener.jobs.export import export_graph

    paths = export_graph(ctx.store, fmt, brand, _when(since), top,
                         out or ctx.settings.home / "exports")
    for path in paths:
        click.echo(f"Wrote {path}")


@main.command()
@click.option("--reset", is_flag=True, help="Forget the detector's state and replay every post.")
@pass_ctx
@friendly
def detect(ctx: Context, reset: bool) -> None:
    """Look for negative word-of-mouth that spreads: open or update one alert per story."""
    from listener.jobs.detect import detect as run_detect

    report = run_detect(ctx.store, reset=reset, echo=click.echo, read_ahead=True)
    click.echo(f"Read {n(report.posts)} new brand mentions in {report.seconds:.1f} s: "
               f"{n(report.opened)} alerts opened, {n(report.updated)} updated")


@main.group()
def alerts() -> None:
    """List, acknowledge, resolve and email alerts about negative word-of-mouth."""


@alerts.command("list")
@click.option("--status", type=click.Choice(["open", "acknowledged", "resolved"]), default=None)
@click.option("--brand", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly
def alerts_list(ctx: Context, status: str | None, brand: str | None, as_json: bool) -> None:
    """Alerts, most severe first."""
    from listener.store.alerts import list_alerts

    if brand:  # spelt as the user likes; an unknown brand is an error, not "No alerts"
        brand = ctx.store.brand(brand).name
    found = list_alerts(ctx.store, status=status, brand=brand)
    if as_json:
        click.echo(json.dumps([{"id": a.id, "brand": a.brand, "status": a.status,
                                "severity": round(a.severity, 3), "level": a.level,
                                "title": a.title, "opened_at": a.opened_at.isoformat(),
                                "updated_at": a.updated_at.isoformat()} for a in found], indent=2))
        return
    if not found:
        click.echo("No alerts. `undertow detect` looks for negative stories that spread.")
        return
    width = max(5, *(len(a.brand) for a in found))
    click.echo(f"{'id':<6} {'level':<6} {'status':<12} {'brand':<{width}} "
               f"{'opened (UTC)':<16}  story")
    for a in found:
        click.echo(f"#{a.id:<5} {a.level:<6} {a.status:<12} {a.brand:<{width}} "
                   f"{a.opened_at:%Y-%m-%d %H:%M}  {a.title}")


def _set_alert_status(ctx: Context, alert_id: int, status: str) -> None:
    from listener.store.alerts import change_status

    a, changed = change_status(ctx.store, alert_id, status)
    if changed:
        click.echo(f"Alert #{a.id} ({a.brand}) is now {a.status}")
    else:
        click.echo(f"Alert #{a.id} ({a.brand}) was already {a.status}: nothing changed")


@alerts.command("ack")
@click.argument("alert_id", type=int)
@pass_ctx
@friendly
def alerts_ack(ctx: Context, alert_id: int) -> None:
    """Acknowledge an alert: no more emails unless it climbs a severity level."""
    _set_alert_status(ctx, alert_id, "acknowledged")


@alerts.command("resolve")
@click.argument("alert_id", type=int)
@pass_ctx
@friendly
def alerts_resolve(ctx: Context, alert_id: int) -> None:
    """Resolve an alert: it stays quiet for its cooldown even if the story goes on."""
    _set_alert_status(ctx, alert_id, "resolved")


@alerts.command("send")
@click.option("--digest", is_flag=True, help="Also send today's daily digest (once a day).")
@pass_ctx
@friendly
def alerts_send(ctx: Context, digest: bool) -> None:
    """Email alerts that opened or rose in severity (and the digest), via UNDERTOW_SMTP_*."""
    from listener.alerts.delivery import send
    from listener.post import utcnow

    report = send(ctx.store, ctx.settings, digest_day=utcnow().date().isoformat() if digest else None)
    click.echo(f"Queued {n(report.queued)}, sent {n(report.sent)}, will retry "
               f"{n(report.retry_later)}, failed {n(report.failed)}")
    for err in report.errors:
        click.echo(f"  {err}")
    if report.no_recipients:
        click.echo(f"{n(report.no_recipients)} alerts are due an email but have no recipient: set "
                   "UNDERTOW_ALERT_RECIPIENTS (or a brand's recipients); they stay due until then.")
    if report.retry_later or report.failed or report.no_recipients:
        raise SystemExit(1)


@main.command()
@pass_ctx
@friendly
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


@main.command()
@click.option("--author", default=None, help="PLATFORM:HANDLE_OR_ID, e.g. x:@someone")
@click.option("--post", "post", default=None, help="PLATFORM:POST_ID, e.g. x:1440716895355764743")
@pass_ctx
@friendly
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


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(command: click.Command) -> None:
    """Commands that live with their feature (collect, listen, dashboard...) attach here."""
    main.add_command(command)


def _register_features() -> None:
    from dashboard.command import dashboard
    from listener.collectors.commands import collect, listen
    from listener.compliance_command import compliance
    from listener.engagement_command import inbox, service

    register(collect)
    register(listen)
    register(compliance)
    register(inbox)
    register(service)
    register(dashboard)


_register_features()


if __name__ == "__main__":
    main()
