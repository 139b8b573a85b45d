"""`undertow inbox` and `undertow service`: the unanswered queue and the service KPIs.

Thin wrappers over `listener.jobs.engagement`. Undertow never posts a reply itself: each queue
item links to the post on its platform, where the brand's team answers it.
"""

from __future__ import annotations

import json

import click

from listener.cli.edge import Context, pass_ctx, when

__all__ = ["COMMANDS", "inbox", "service"]


def _age(hours: float) -> str:
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h" if hours < 48 else \
        f"{hours / 24:.1f} d"


def _no_accounts(flags: dict[str, bool]) -> list[str]:
    return [name for name, has in flags.items() if not has]


@click.command()
@click.option("--brand", default=None, help="One brand's queue (default: every brand).")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=7.0, show_default=True,
              help="Customer posts from this many days before --at.")
@click.option("--at", "at", default=None,
              help="The moment to rank at (ISO 8601; default: the newest stored post).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def inbox(ctx: Context, brand: str | None, days: float, at: str | None, top: int,
          as_json: bool) -> None:
    """Unanswered customer posts that need an answer, riskiest first, with links to answer them.

    Risk weighs the thread's growth (the early-warning forecast where a story exists), the
    author's reach and influence, negativity and how long the post has waited; a brand's own
    accounts (`undertow brand edit NAME --account x:HANDLE`) are how Undertow sees its answers.
    """
    from listener.jobs.engagement import inbox as run_inbox

    e, items = run_inbox(ctx.store, brand, days=days, as_of=when(at), limit=None)
    blind = _no_accounts(e.has_accounts)
    if as_json:
        click.echo(json.dumps({"as_of": e.as_of.isoformat(), "unanswered": len(items),
                               "brands_without_accounts": blind,
                               "items": [i.as_dict() for i in items[:top]]}, indent=2))
        return
    if blind:
        click.echo(f"No own accounts for {', '.join(blind)}: Undertow cannot see their answers, "
                   "so every post that needs one is listed (add them with `undertow brand edit "
                   "NAME --account x:HANDLE`).", err=True)
    if not items:
        click.echo(f"No unanswered customer posts in the {days:g} days before "
                   f"{e.as_of:%Y-%m-%d %H:%M} UTC.")
        return
    click.echo(f"{len(items):,} unanswered customer posts in the {days:g} days before "
               f"{e.as_of:%Y-%m-%d %H:%M} UTC; the {min(top, len(items))} riskiest:")
    now = e.as_of.timestamp()
    for k, item in enumerate(items[:top], start=1):
        who = f"@{item.author}" if item.author else "?"
        followers = f" ({item.followers:,} followers)" if item.followers else ""
        text = " ".join(item.text.split())
        click.echo(f"{k:>3}. risk {item.risk.score:.2f}  {item.brand}  {who}{followers}  waiting "
                   f"{_age((now - item.created_at.timestamp()) / 3600)}")
        click.echo(f"     {text[:110]}{'...' if len(text) > 110 else ''}")
        click.echo(f"     why: {'; '.join(item.risk.reasons)}")
        click.echo(f"     answer it: {item.url or item.platform + ':' + item.native_id}")


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@click.command()
@click.option("--brand", default=None, help="One brand (default: every brand and group).")
@click.option("--since", default=None, help="Cases opened from this time (ISO 8601).")
@click.option("--until", default=None, help="Cases opened before this time (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def service(ctx: Context, brand: str | None, since: str | None, until: str | None,
            as_json: bool) -> None:
    """Service KPIs per brand and competitor group: response rate and first-response times.

    A case is one customer's part of one thread; it counts when it needed an answer (negative
    or a question) or was answered. Times run from the customer's first post there to the
    brand's first answer (a reply, a quote, or a post in the thread addressing them).
    """
    from listener.jobs.engagement import service as run_service

    out = run_service(ctx.store, brand, when(since), when(until))
    if as_json:
        click.echo(json.dumps({
            "as_of": out["as_of"].isoformat(),
            "brands": {k: v.as_dict() for k, v in out["brands"].items()},
            "groups": {k: v.as_dict() for k, v in out["groups"].items()},
            "brands_without_accounts": _no_accounts(out["has_accounts"])}, indent=2))
        return
    rows = [(name, k) for name, k in out["brands"].items()] + \
        [(f"group {name}", k) for name, k in out["groups"].items()]
    if not rows:
        click.echo("No brands yet: add one with undertow brand add NAME --query '...'")
        return
    width = max(12, *(len(name) for name, _ in rows))
    click.echo(f"{'':<{width}} {'cases':>7} {'answered':>9} {'rate':>6} {'median':>9} "
               f"{'p90':>9} {'<=1 h':>6} {'high-risk open':>14}")
    for name, k in rows:
        median = _fmt(k.median_first_response_min, ",.0f")
        p90 = _fmt(k.p90_first_response_min, ",.0f")
        click.echo(f"{name:<{width}} {k.counted:>7,} {k.answered:>9,} "
                   f"{_fmt(k.response_rate, '.0%'):>6} {median + ' min':>9} {p90 + ' min':>9} "
                   f"{_fmt(k.answered_within_1h, '.0%'):>6} {k.unanswered_high_risk:>14,}")
    blind = _no_accounts(out["has_accounts"])
    if blind:
        click.echo(f"No own accounts for {', '.join(blind)}: their answers are not seen "
                   "(undertow brand edit NAME --account x:HANDLE).")


COMMANDS = [inbox, service]
