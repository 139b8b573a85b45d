"""The collector settings people read (docs/collectors.md's table, the README's configuration
table) are the settings the collector classes declare, and their secrets stay secret."""

from __future__ import annotations

import re
from pathlib import Path

from listener.collectors import registry
from listener.settings import Secret, Settings

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- collector settings: begin -->", "<!-- collector settings: end -->"


def settings_table() -> str:
    """The table docs/collectors.md must hold, built from the declarations."""
    rows = ["| Variable | Source | Default | What |", "|---|---|---|---|"]
    for name in registry.available():
        cls = registry.load(name)
        for s in cls.config:
            shown = s.shown_default or (f"`{s.default}`" if s.default else "—")
            flags = ", ".join(f for f, on in (("required", s.required), ("secret", s.secret))
                              if on)
            rows.append(f"| `{s.env}` | {cls.title} | {shown}{f' ({flags})' if flags else ''} "
                        f"| {s.help} |")
    return "\n".join(rows)


def test_the_docs_table_is_the_declarations():
    text = (ROOT / "docs" / "collectors.md").read_text()
    found = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert found == settings_table(), (
        "docs/collectors.md's settings table differs from the declarations; it should read:\n"
        + settings_table())


def test_the_readme_lists_every_declared_setting_and_marks_its_secrets():
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(UNDERTOW_\w+)` \|.*$",
                                                        (ROOT / "README.md").read_text(), re.M)}
    for s in registry.declared_settings().values():
        assert s.env in rows, f"README.md's configuration table has no row for {s.env}"
        assert ("(secret)" in rows[s.env]) == s.secret, rows[s.env]


def test_declared_settings_are_read_typed_and_their_secrets_never_show(tmp_path):
    declared = registry.declared_settings()
    env = {s.env: ("2.5" if s.type is float else f"value-of-{s.name}-4711")
           for s in declared.values()}
    loaded = Settings.load(env=env, env_file=tmp_path / "absent.env")
    for name, s in declared.items():
        value = getattr(loaded, name)
        if s.secret:
            assert isinstance(value, Secret) and value.get() == env[s.env]
        else:
            assert value == s.parse(env[s.env])
    secrets = [env[s.env] for s in declared.values() if s.secret]
    assert secrets and sorted(loaded.secret_values()) == sorted(secrets)
    shown = repr(loaded) + str(loaded) + repr(vars(loaded))
    for secret in secrets:
        assert secret not in shown


def test_a_value_that_cannot_be_right_names_its_variable(tmp_path):
    import pytest

    from listener.errors import ConfigError

    loaded = Settings.load(env={"UNDERTOW_X_BACKFILL_HOURS": "a day"},
                           env_file=tmp_path / "absent.env")
    with pytest.raises(ConfigError, match="UNDERTOW_X_BACKFILL_HOURS='a day' is not a number"):
        _ = loaded.x_backfill_hours


def test_the_cli_help_is_built_from_the_registry():
    import click

    from listener.cli.collect import collect, listen
    from listener.cli.compliance import compliance

    def help_of(command: click.Command) -> str:
        # Not through `undertow`: its callback would configure logging for the whole session.
        return " ".join(command.get_help(click.Context(command)).split())

    for name in registry.available():
        cls = registry.load(name)
        assert name in help_of(collect)
        assert f"{cls.title} {cls.default_interval / 60:g} min" in help_of(listen)
    assert "stream of each source that has one (X)" in help_of(listen)
    assert "[reddit|x]" in help_of(compliance).replace(" ", "")
