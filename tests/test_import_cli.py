"""`undertow import` on bad input: every skipped record in --rejects, status equal to the file."""

import json
import sys
from pathlib import Path

from click.testing import CliRunner

from listener.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bad_records import generate  # noqa: E402


def test_import_lists_every_rejected_record_and_status_matches(tmp_path, monkeypatch):
    monkeypatch.setenv("UNDERTOW_HOME", str(tmp_path))
    monkeypatch.delenv("UNDERTOW_DATABASE_URL", raising=False)
    path = tmp_path / "mixed.jsonl"
    expected = generate(path, 3_000, 40)
    rejects = tmp_path / "rejects.tsv"
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(path), "--rejects", str(rejects)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = rejects.read_text().splitlines()
    assert len(lines) == len(expected.skipped_lines)
    assert all(line.split("\t")[2] for line in lines)  # each with its reason
    assert "\r" not in result.output and "\x00" not in result.output
    status = runner.invoke(main, ["status", "--json"], catch_exceptions=False)
    assert json.loads(status.output)["posts"] == len(expected.stored_ids)
