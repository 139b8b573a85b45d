"""The jobs: demo, score, rank, influencers, detect, graph export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from listener.cli.edge import Context, n, pass_ctx, when


@click.command()
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True,
              help="Length of the simulated week.")
@pass_ctx
def demo(ctx: Context, days: int) -> None:
    """Load the bundled sample data and run every pipeline stage on it."""
    from listener.jobs.demo import run_demo

    run_demo(ctx.store, ctx.settings, days=days, echo=click.echo)


@click.command()
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
@click.option("--follow", is_flag=True,
              help="Keep scoring new posts as they arrive (beside `undertow listen`; run several "
                   "on PostgreSQL to share the work) until Ctrl-C or SIGTERM.")
@click.option("--idle", "idle", default="5s", show_default=True, metavar="DURATION",
              help="With --follow: how often to look for new posts when none are waiting.")
@click.option("--metrics", "metrics", default=None, metavar="HOST:PORT",
              help="With --follow: serve /healthz and Prometheus /metrics here (off by default; "
                   "each follower needs its own port, e.g. 127.0.0.1:9471).")
@pass_ctx
def score(ctx: Context, model: str | None, batch_size: int, limit: int | None,
          threads: int | None, int8: bool | None, as_json: bool, follow: bool,
          idle: str, metrics: str | None) -> None:
    """Score the sentiment of every post not yet scored by the current model version."""
    if model:
        ctx.settings.sentiment_model = model
    if int8 is not None:
        ctx.settings.sentiment_int8 = int8
    if follow:
        if limit is not None:
            raise click.UsageError("--limit does not go with --follow")
        _follow(ctx, threads, batch_size, idle, as_json, metrics)
        return
    if metrics:
        raise click.UsageError("--metrics goes with --follow")
    from listener.jobs.score import default_scorer, score_posts
    from nlp.language import trained_languages

    scorer = default_scorer(ctx.settings, threads=threads)
    report = score_posts(ctx.store, scorer, batch_size=batch_size, limit=limit,
                         progress=sys.stderr.isatty() and not as_json,
                         languages=trained_languages(scorer.model_version,
                                                     ctx.settings.sentiment_languages))
    if as_json:
        click.echo(json.dumps({"model_version": report.model_version, "scored": report.scored,
                               "model_calls": report.model_calls,
                               "from_cache": report.from_cache,
                               "not_scored_language": report.not_scored_language,
                               "seconds": round(report.seconds, 2)}))
        return
    click.echo(f"Scored {n(report.scored)} posts with {report.model_version} in "
               f"{report.seconds:.1f} s ({report.posts_per_s:,.0f} posts/s; "
               f"{n(report.model_calls)} model calls, {n(report.from_cache)} from the cache; "
               f"{n(report.not_scored_language)} posts not scored (language))")


def _follow(ctx: Context, threads: int | None, batch_size: int, idle: str,
            as_json: bool, metrics: str | None = None) -> None:
    """`score --follow`: one line per pass on stderr. A stop signal, even while the model
    loads, ends it after the batch in hand is committed, with exit status 0. With `metrics`,
    /healthz answers 200 while the loop looks for posts or commits batches (a container's or
    a unit's health check) and /metrics gives the store's backlog."""
    import threading

    from listener.cli.collect import _stamped, parse_duration
    from listener.collectors.job import stop_on_signals
    from listener.jobs.score import default_scorer, follow
    from listener.service import ServiceState, serve_at
    from nlp.language import trained_languages

    idle_s = parse_duration(idle)
    stop = threading.Event()
    # A batch on a loaded CPU takes seconds; a loop silent for minutes is stuck.
    state = ServiceState(stale_after_s=max(300.0, 3 * idle_s))
    server = serve_at(ctx.store, state, metrics, _stamped)
    try:
        with stop_on_signals(stop, lambda line: _stamped(line.replace("current page",
                                                                      "batch in hand"))):
            scorer = default_scorer(ctx.settings, threads=threads)
            _stamped(f"Scoring new posts with {scorer.model_version} as they arrive (looking "
                     f"every {idle_s:g} s when none are waiting); press Ctrl-C to stop")
            report = follow(ctx.store, scorer, idle_s=idle_s, stop=stop, echo=_stamped,
                            batch_size=batch_size,
                            languages=trained_languages(scorer.model_version,
                                                        ctx.settings.sentiment_languages),
                            beat=state.beat)
    finally:
        if server is not None:
            server.shutdown()
    if as_json:
        click.echo(json.dumps({"model_version": scorer.model_version, "scored": report.scored,
                               "passes": report.passes,
                               "database_errors": report.database_errors}))
    else:
        _stamped(f"Stopped: scored {n(report.scored)} posts in {n(report.passes)} passes")


@click.command("rank")
@click.option("--brand", default=None, help="Rank within one brand's conversation.")
@click.option("--since", default=None, help="Only interactions from this time (ISO 8601).")
@click.option("--until", default=None, help="Only interactions before this time (ISO 8601).")
@click.option("--keep", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Authors saved per run.")
@pass_ctx
def rank_cmd(ctx: Context, brand: str | None, since: str | None, until: str | None,
             keep: int) -> None:
    """Rank influencers by measured reach and save the run (scores with their components)."""
    from listener.jobs.rank import rank

    report = rank(ctx.store, brand, when(since), when(until), keep=keep, echo=click.echo)
    if report.run_id is not None:
        click.echo(f"Run #{report.run_id}: ranked {n(report.authors)} authors from "
                   f"{n(report.edges)} interactions, {n(report.communities)} communities, "
                   f"in {report.seconds:.1f} s")


@click.command()
@click.option("--brand", default=None, help="The brand's own ranking (default: everything).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
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


@click.group("graph")
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
def graph_export(ctx: Context, fmt: str, brand: str | None, since: str | None, top: int,
                 out: Path | None) -> None:
    """Write the amplification graph with scores and communities as GEXF, GraphML or CSV."""
    from listener.jobs.export import export_graph

    paths = export_graph(ctx.store, fmt, brand, when(since), top,
                         out or ctx.settings.home / "exports")
    for path in paths:
        click.echo(f"Wrote {path}")


@click.command()
@click.option("--reset", is_flag=True, help="Forget the detector's state and replay every post.")
@pass_ctx
def detect(ctx: Context, reset: bool) -> None:
    """Look for negative word-of-mouth that spreads: open or update one alert per story."""
    from listener.jobs.detect import detect as run_detect

    report = run_detect(ctx.store, reset=reset, echo=click.echo, read_ahead=True)
    click.echo(f"Read {n(report.posts)} new brand mentions in {report.seconds:.1f} s: "
               f"{n(report.opened)} alerts opened, {n(report.updated)} updated, "
               f"{n(report.watching)} stories below the reporting level watched, "
               f"{n(report.resolved)} resolved as their stories stopped growing")


COMMANDS = [demo, score, rank_cmd, influencers, graph_group, detect]
