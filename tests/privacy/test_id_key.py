"""The author-id key: from UNDERTOW_ID_KEY, or a key file generated once outside the database,
never printed, logged or stored; a store refuses a key other than its own."""

from __future__ import annotations

import logging
import multiprocessing
import stat

import pytest
from click.testing import CliRunner

from listener import id_key
from listener.cli import main
from listener.errors import ConfigError
from listener.settings import Settings
from listener.store import Store
from tests.privacy.test_protection import dump


def settings(tmp_path, **env) -> Settings:
    return Settings.load(env={"UNDERTOW_HOME": str(tmp_path / "home"), **env},
                         env_file=tmp_path / "absent.env")


def test_a_key_file_is_generated_once_with_mode_600(tmp_path):
    s = settings(tmp_path)
    key = id_key.load(s)
    path = tmp_path / "home" / "id.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64 and int(key, 16) and path.read_text() == key.decode() + "\n"
    assert id_key.load(s) == key  # read again, not made again
    assert sorted(p.name for p in path.parent.iterdir()) == ["id.key"]


def test_the_key_file_setting_and_the_variable(tmp_path):
    elsewhere = tmp_path / "secrets" / "undertow.key"
    key = id_key.load(settings(tmp_path, UNDERTOW_ID_KEY_FILE=str(elsewhere)))
    assert elsewhere.read_text().strip() == key.decode()
    assert not (tmp_path / "home" / "id.key").exists()
    # The file's content given as the variable is the same key (for a second host).
    assert id_key.load(settings(tmp_path, UNDERTOW_ID_KEY=key.decode())) == key
    with pytest.raises(ConfigError, match="shorter than 16"):
        id_key.load(settings(tmp_path, UNDERTOW_ID_KEY="short"))


def test_a_readable_key_file_is_warned_about_by_path_only(tmp_path, caplog):
    s = settings(tmp_path)
    key = id_key.load(s)
    (tmp_path / "home" / "id.key").chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert id_key.load(s) == key
    assert "can be read by other users" in caplog.text and key.decode() not in caplog.text


def _load(home: str) -> bytes:
    return id_key.load(Settings.load(env={"UNDERTOW_HOME": home}, env_file=None))


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    home = tmp_path / "home"
    with multiprocessing.get_context("fork").Pool(6) as pool:
        keys = pool.map(_load, [str(home)] * 12)
    assert len(set(keys)) == 1
    assert sorted(p.name for p in home.iterdir()) == ["id.key"]  # no temporary file left


def test_the_cli_keeps_the_key_out_of_output_logs_and_database(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("UNDERTOW_ID_KEY", raising=False)
    monkeypatch.setenv("UNDERTOW_HOME", str(tmp_path))
    monkeypatch.delenv("UNDERTOW_DATABASE_URL", raising=False)
    caplog.set_level(logging.DEBUG)
    csv = tmp_path / "p.csv"
    csv.write_text("text,created_at,author\n@united lost my bag,2026-01-01,flyer\n")
    runner = CliRunner()
    results = [runner.invoke(main, ["import", str(csv)]), runner.invoke(main, ["status"])]
    assert [r.exit_code for r in results] == [0, 0], results[0].output
    key = (tmp_path / "id.key").read_text().strip()
    store = Store.open(f"sqlite:///{tmp_path / 'undertow.db'}")  # finds the same key file
    everything = dump(store)
    store.close()
    assert "flyer" in everything
    assert key not in everything and key not in caplog.text
    assert all(key not in r.output for r in results)

    monkeypatch.setenv("UNDERTOW_ID_KEY", "some-other-key-0123456789")
    refused = runner.invoke(main, ["status"])
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: This database's author ids were made with another")
    assert key not in refused.output and "some-other-key" not in refused.output
