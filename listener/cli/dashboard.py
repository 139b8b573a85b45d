"""`undertow dashboard`: start the Streamlit app on the configured database.

The app is found as a file, never imported: nothing in `listener` imports `dashboard` (the
data flows to the dashboard, not back), and Streamlit runs it in its own process anyway.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from listener.cli.edge import Context, pass_ctx
from listener.errors import ConfigError
from listener.store import Store

__all__ = ["COMMANDS", "app_path", "dashboard", "run_streamlit", "streamlit_argv"]


def app_path() -> Path:
    """dashboard/app.py of the installed (or checked-out) dashboard package."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("The dashboard package is not installed: reinstall Undertow "
                          "(`make install`)")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def streamlit_argv(port: int, address: str) -> list[str]:
    """The `streamlit run` command line: headless, no usage statistics, no browser opened."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app_path()),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]


def run_streamlit(argv: list[str], env: dict[str, str]) -> int:
    """Run Streamlit until it ends, Ctrl+C, or a SIGTERM to this process (`kill PID`), which is
    passed on: otherwise the server would outlive the command and keep the port."""
    proc = subprocess.Popen(argv, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to Streamlit too
        proc.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("dashboard")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535),
              help="Port to serve the dashboard on.")
@click.option("--address", default="localhost", show_default=True,
              help="Interface to listen on; use 0.0.0.0 to share it with your team (set "
                   "UNDERTOW_DASHBOARD_PASSWORD first).")
@pass_ctx
def dashboard(ctx: Context, port: int, address: str) -> None:
    """Open the dashboard: overview, alerts, posts, influencers and the graph explorer."""
    settings = ctx.settings
    url = settings.db_url
    Store.open(url).close()  # fail here, with a clear message, not inside the browser
    if address not in ("localhost", "127.0.0.1", "::1") and not settings.dashboard_password:
        click.echo("Warning: listening beyond this machine without a password; set "
                   "UNDERTOW_DASHBOARD_PASSWORD.", err=True)
    env = {**os.environ, "UNDERTOW_DATABASE_URL": url,
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    host = "localhost" if address in ("0.0.0.0", "::") else address
    click.echo(f"Undertow dashboard: http://{host}:{port} (Ctrl+C to stop)")
    code = run_streamlit(streamlit_argv(port, address), env)
    if code not in (0, -2, 130):
        raise click.ClickException(f"Streamlit exited with status {code}")


COMMANDS = [dashboard]
