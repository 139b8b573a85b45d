"""`undertow themes`: each brand's complaint themes, ranked by priority."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

import click

from listener.cli.edge import Context, pass_ctx

__all__ = ["COMMANDS", "themes"]


@click.command()
@click.option("--brand", "brand_name", default=None, help="One brand (default: every brand).")
@click.option("--since", type=click.DateTime(), default=None,
              help="Only mentions after this time (default: all stored).")
@click.option("--json", "as_json", is_flag=True, help="Print the themes as JSON.")
@pass_ctx
def themes(ctx: Context, brand_name: str | None, since: datetime | None, as_json: bool) -> None:
    """Find, name and rank each brand's complaint themes; later runs keep their ids and names."""
    from listener.jobs.themes import MIN_POSTS, themes_for

    brands = [ctx.store.brand(brand_name)] if brand_name else ctx.store.brands()
    results = themes_for(ctx.store, ctx.settings.home, brands, since)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results], default=str, indent=2))
        return
    for r in results:
        click.echo(f"{r.brand}: {r.mentions:,} mentions, {r.negative:,} negative in scored "
                   f"languages, {r.not_scored_language:,} not scored (language)")
        click.echo("  languages: " + ", ".join(f"{lang} {count:,}"
                                               for lang, count in r.languages.items()))
        if not r.themes:
            click.echo(f"  fewer than {MIN_POSTS} negative posts: no themes yet")
        for i, t in enumerate(r.themes, 1):
            flag = "  EMERGING" if t["emerging"] else ""
            click.echo(f"  {i:>2}. #{t['theme']} {t['name']}: {t['posts']:,} posts, "
                       f"{t['share']:.0%} of complaints, growth x{t['growth']:.1f}, "
                       f"reach {t['reach']:,}{flag}")


COMMANDS = [themes]
