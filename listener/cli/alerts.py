"""`undertow alerts`: list, acknowledge, resolve and email alerts."""

from __future__ import annotations

import getpass
import json

import click

from listener.cli.edge import Context, n, pass_ctx
from listener.inert import one_line


@click.group()
def alerts() -> None:
    """List, acknowledge, resolve and email alerts about negative word-of-mouth."""


@alerts.command("list")
@click.option("--status", type=click.Choice(["watch", "open", "acknowledged", "resolved"]),
              default=None, help="Only this status (default: every alert, no watch items).")
@click.option("--brand", default=None)
@click.option("--watch", "with_watch", is_flag=True,
              help="Also list watch items: stories below the reporting level (medium).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def alerts_list(ctx: Context, status: str | None, brand: str | None, with_watch: bool,
                as_json: bool) -> None:
    """Alerts, most severe first."""
    from listener.store.alerts import list_alerts

    if brand:  # spelt as the user likes; an unknown brand is an error, not "No alerts"
        brand = ctx.store.brand(brand).name
    found = list_alerts(ctx.store, status=status, brand=brand, watch=with_watch)
    if as_json:
        click.echo(json.dumps([{"id": a.id, "brand": a.brand, "status": a.status,
                                "severity": round(a.severity, 3), "level": a.level,
                                "title": a.title, "opened_at": a.opened_at.isoformat(),
                                "updated_at": a.updated_at.isoformat()} for a in found], indent=2))
        return
    if not found:
        click.echo("No alerts. `undertow detect` looks for negative stories that spread.")
        return
    width = max(5, *(len(one_line(a.brand)) for a in found))
    click.echo(f"{'id':<6} {'level':<6} {'status':<12} {'brand':<{width}} "
               f"{'opened (UTC)':<16}  story")
    for a in found:
        click.echo(f"#{a.id:<5} {a.level:<6} {a.status:<12} {one_line(a.brand):<{width}} "
                   f"{a.opened_at:%Y-%m-%d %H:%M}  {one_line(a.title)}")


def _set_alert_status(ctx: Context, alert_id: int, status: str, by: str | None) -> None:
    from listener.store.alerts import change_status

    a, changed = change_status(ctx.store, alert_id, status, by or _login())
    if not changed:
        click.echo(f"Alert #{a.id} ({one_line(a.brand)}) was already {a.status}: nothing changed")
    elif status == "acknowledged":
        click.echo(f"Alert #{a.id} ({one_line(a.brand)}) acknowledged by {a.acknowledged_by} at "
                   f"{a.acknowledged_at:%Y-%m-%d %H:%M} UTC")
    elif status == "resolved":
        click.echo(f"Alert #{a.id} ({one_line(a.brand)}) resolved by {a.resolved_by} at "
                   f"{a.resolved_at:%Y-%m-%d %H:%M} UTC")
    else:
        click.echo(f"Alert #{a.id} ({one_line(a.brand)}) is open again")


def _login() -> str:
    """Who runs the command, when --by is not given (the account name; "" if none is known)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return ""


BY = click.option("--by", default=None, metavar="NAME",
                  help="Who is acting (recorded on the alert); default: your login name.")


@alerts.command("ack")
@click.argument("alert_id", type=int)
@BY
@pass_ctx
def alerts_ack(ctx: Context, alert_id: int, by: str | None) -> None:
    """Acknowledge an alert: no more emails or chat posts unless it climbs a severity level."""
    _set_alert_status(ctx, alert_id, "acknowledged", by)


@alerts.command("resolve")
@click.argument("alert_id", type=int)
@BY
@pass_ctx
def alerts_resolve(ctx: Context, alert_id: int, by: str | None) -> None:
    """Resolve an alert: it stays quiet for its cooldown even if the story goes on."""
    _set_alert_status(ctx, alert_id, "resolved", by)


@alerts.command("reopen")
@click.argument("alert_id", type=int)
@BY
@pass_ctx
def alerts_reopen(ctx: Context, alert_id: int, by: str | None) -> None:
    """Re-open an acknowledged or resolved alert (ends a resolved alert's cooldown)."""
    _set_alert_status(ctx, alert_id, "open", by)


@alerts.command("send")
@click.option("--digest", is_flag=True, help="Also send today's daily digest (once a day).")
@pass_ctx
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


COMMANDS = [alerts]
