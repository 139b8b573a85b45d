"""The Alerts page shows each brand's routing as `brand edit` set it, and a webhook's host only."""

from __future__ import annotations

from click.testing import CliRunner
from dash_seed import make_app
from test_pages import open_page

from listener.cli import main

TOKEN_PATH = "/services/T0001/B0002/s3cr3tT0ken"


def _table(at):
    return next(df for df in at.dataframe if "webhook" in df.value.columns).value


def test_routing_set_from_the_cli_is_shown_without_the_webhook_secret(seeded, monkeypatch):
    monkeypatch.setenv("UNDERTOW_ALERT_WEBHOOK_URL_OPS", f"https://chat.acme.test{TOKEN_PATH}?x=1")
    monkeypatch.setenv("UNDERTOW_ALERT_RECIPIENTS", "team@shop.test")
    # The seeded store is UNDERTOW_DATABASE_URL, for the CLI as for the dashboard.
    done = CliRunner().invoke(main, ["brand", "edit", "Acme", "--recipient",
                                     "cx@acme.test", "--notify-from", "high", "--webhook", "ops"])
    assert done.exit_code == 0, done.output
    at = open_page(make_app(), "views/alerts.py")
    table = _table(at).set_index("brand")
    acme, globex = table.loc["Acme"], table.loc["Globex"]
    assert acme["email"] == "cx@acme.test"
    assert acme["from"].startswith("high (0.90)")
    assert acme["webhook"] == "chat.acme.test (UNDERTOW_ALERT_WEBHOOK_URL_OPS)"
    assert globex["email"] == "team@shop.test (global)"
    assert globex["from"].endswith("(default)") and globex["webhook"] == "none"
    shown = _table(at).to_csv() + "\n".join(str(e.value) for e in at.caption)
    assert "s3cr3tT0ken" not in shown and "services" not in shown


def test_a_webhook_named_but_not_configured_says_which_variable(seeded, monkeypatch):
    monkeypatch.delenv("UNDERTOW_ALERT_WEBHOOK_URL_PAGER", raising=False)
    done = CliRunner().invoke(main, ["brand", "edit", "Globex", "--webhook", "pager"])
    assert done.exit_code == 0, done.output
    table = _table(open_page(make_app(), "views/alerts.py")).set_index("brand")
    assert table.loc["Globex", "webhook"] == (
        "not set: UNDERTOW_ALERT_WEBHOOK_URL_PAGER has no http(s) URL")
