"""The CLI as a user meets it: help everywhere, clear one-line errors, honest output."""

import json

import click
import pytest
from click.testing import CliRunner

from listener.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("UNDERTOW_HOME", str(tmp_path))
    monkeypatch.delenv("UNDERTOW_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def all_commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, (*prefix, name))


def test_every_command_has_help(run):
    for path, cmd in all_commands(main):
        assert cmd.help, f"undertow {' '.join(path)} has no help text"
        result = run(*path, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_brand_lifecycle_and_status(run, tmp_path):
    assert run("init").exit_code == 0
    assert run("brand", "add", "United", "--query", "@united OR united", "--group", "air").exit_code == 0
    listed = json.loads(run("brand", "list", "--json").output)
    assert listed == [{"name": "United", "query": "@united OR united", "group": "air",
                       "accounts": []}]
    csv = tmp_path / "p.csv"
    csv.write_text("text,created_at,author\n@united lost my bag,2026-01-01T00:00:00Z,ann\n"
                   "hello,2026-01-01,bob\nUnited here: sorry @ann!,2026-01-01T00:09:00Z,united\n")
    out = run("import", str(csv)).output
    assert "3 new posts" in out
    status = json.loads(run("status", "--json").output)
    for key in ("posts", "authors", "interactions", "scored", "alerts"):
        assert isinstance(status[key], int)
    assert status["posts"] == 3 and status["per_brand"] == {"United": 2}
    # The brand's own account: its post stays stored, but is no longer one of its mentions.
    edited = run("brand", "edit", "United", "--account", "file:@United")
    assert edited.exit_code == 0 and "own accounts: file:united" in edited.output
    assert json.loads(run("status", "--json").output)["per_brand"] == {"United": 1}
    assert "[own: file:united]" in run("brand", "list").output
    assert run("brand", "edit", "United", "--no-accounts").exit_code == 0
    assert json.loads(run("status", "--json").output)["per_brand"] == {"United": 2}
    assert run("brand", "edit", "United", "--account", "nonsense").exit_code == 1
    assert run("brand", "remove", "United").exit_code == 0
    assert run("brand", "list").output.startswith("No brands yet")


def test_user_mistakes_are_one_line_not_a_traceback(run, tmp_path):
    bad = run("brand", "add", "X", "--query", "(oops")
    assert bad.exit_code == 1
    assert "Bad query at position 0" in bad.output and "Traceback" not in bad.output
    missing = run("import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "No such file" in missing.output
    assert run("brand", "remove", "ghost").exit_code == 1
    unknown = run("--database", "mysql://x/y", "status")
    assert unknown.exit_code == 1 and "Unsupported database" in unknown.output


def test_a_model_that_cannot_load_and_a_bad_log_level_are_one_line_errors(run, tmp_path,
                                                                          monkeypatch):
    result = run("score", "--model", str(tmp_path / "no-such-model"))
    assert result.exit_code == 1
    assert "cannot load the sentiment model" in result.output and "no such folder" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setenv("UNDERTOW_LOG_LEVEL", "bogus")
    result = run("status")
    assert result.exit_code == 1 and "UNDERTOW_LOG_LEVEL='bogus'" in result.output


def test_settings_and_option_mistakes_are_one_line_errors(run, tmp_path, monkeypatch):
    monkeypatch.setenv("UNDERTOW_SMTP_PORT", "abc")
    result = run("status")
    assert result.exit_code == 1 and "UNDERTOW_SMTP_PORT='abc'" in result.output
    monkeypatch.delenv("UNDERTOW_SMTP_PORT")
    for args in (("influencers", "--top", "0"), ("score", "--threads", "0")):
        result = run(*args)
        assert result.exit_code == 2 and "is not in the range" in result.output
    pg = run("--database", "postgresql+psycopg://postgres@127.0.0.1:1/none", "status")
    assert pg.exit_code == 1 and "Cannot open the database" in pg.output
    assert len(pg.output.strip().splitlines()) == 1 and "sqlalche.me" not in pg.output


def test_a_file_in_the_wrong_format_fails_and_brands_match_any_case(run, tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("text,created_at\n@united lost my bag,2026-01-01T00:00:00Z\n")
    wrong = run("import", "--format", "jsonl", str(csv))
    assert wrong.exit_code == 1
    assert "No record could be read as jsonl (is --format right?)" in wrong.output
    assert run("import", str(csv)).exit_code == 0
    assert run("brand", "add", "American Airlines", "--query", "@united").exit_code == 0
    assert run("alerts", "list", "--brand", "american airlines").output.startswith("No alerts")
    unknown = run("alerts", "list", "--brand", "ghost")
    assert unknown.exit_code == 1 and "No brand named 'ghost'" in unknown.output
    status = [line for line in run("status").output.splitlines()
              if line.startswith(("  platform", "  brand"))]
    assert len(status) == 2 and status[0].index(" posts") == status[1].index(" posts")  # aligned


def test_the_command_line_loads_without_torch():
    """Every `undertow` call paid seconds for importing torch; only scoring and training need it."""
    import subprocess
    import sys

    probe = "import sys, listener.cli; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
