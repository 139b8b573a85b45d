"""No secret setting is ever logged, printed, stored in the database, or kept in raw payloads."""

import logging

from click.testing import CliRunner

from listener.cli import main
from listener.collectors.registry import declared_settings
from listener.settings import Settings
from tests.privacy.test_protection import dump
from tests.test_cli import all_commands

SECRETS = {
    "UNDERTOW_X_BEARER_TOKEN": "AAAAtoken-x-123456",
    "UNDERTOW_REDDIT_CLIENT_SECRET": "reddit-secret-987654",
    "UNDERTOW_SMTP_PASSWORD": "smtp-pw-555777",
    "UNDERTOW_DASHBOARD_PASSWORD": "dash-pw-246810",
    "UNDERTOW_PSEUDONYM_KEY": "pseudo-key-13579",
    "UNDERTOW_ID_KEY": "id-key-secret-1122334455",
}
# Every secret a collector declares, whatever collectors there are.
SECRETS |= {s.env: f"{s.name}-secret-24680" for s in declared_settings().values() if s.secret
            and s.env not in SECRETS}


def test_secrets_never_leak(tmp_path, monkeypatch, caplog):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("UNDERTOW_HOME", str(tmp_path))
    monkeypatch.setenv("UNDERTOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("UNDERTOW_SMTP_PORT", "1")  # nothing listens: the send fails
    monkeypatch.setenv("UNDERTOW_SMTP_USER", "bot")
    monkeypatch.setenv("UNDERTOW_ALERT_RECIPIENTS", "a@b.test")
    monkeypatch.setattr("listener.alerts.delivery.sleep", lambda s: None)
    caplog.set_level(logging.DEBUG)
    settings = Settings.load()
    assert sorted(settings.secret_values()) == sorted(SECRETS.values())

    runner = CliRunner()
    outputs = []

    def run(*args):
        result = runner.invoke(main, list(args))
        outputs.append(result.output + repr(result.exception))
        return result

    for path, _ in all_commands(main):
        run(*path, "--help")
    csv = tmp_path / "p.csv"
    csv.write_text("text,created_at\n@united my token is not here,2026-01-01\n")
    run("import", str(csv))
    run("brand", "add", "United", "--query", "@united")
    run("brand", "add", "Bad", "--query", "(")
    run("status")
    run("status", "--json")
    run("erase", "--author", "x:@nobody")
    from listener.store import Store
    from listener.store.alerts import upsert_story

    store = Store.open(settings.db_url)
    upsert_story(store, store.brand("United").id, "k", 0.9, "story", {})
    assert run("alerts", "send").exit_code == 1  # the SMTP server is unreachable: reported
    text = "\n".join(outputs) + caplog.text + dump(store)
    for secret in SECRETS.values():
        assert secret not in text
    assert "ConnectionRefused" in "\n".join(outputs)  # the failure itself is reported
    for marker in ("Authorization", "Bearer "):
        assert marker not in dump(store)
