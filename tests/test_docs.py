"""The README and docs/ show commands that exist, with options that exist.

A command example that drifts from the code (a renamed option, a removed subcommand) is the
first thing a newcomer copies; every `undertow ...` line in a shell block is checked against the
real click tree, and every relative link between the pages must name a file that is there.
"""

import re
import shlex
from pathlib import Path

import click
import pytest

from listener.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.S | re.M)
OPTION = re.compile(r"^--[a-z][a-z0-9-]*")
LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")


def command_lines(text: str) -> list[str]:
    """Each `undertow ...` invocation of the page's shell blocks, continuation lines joined."""
    found = []
    for block in SHELL_BLOCK.findall(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip().removeprefix("$ ")
            for prefix in (".venv/bin/undertow ", "undertow "):
                if line.startswith(prefix):
                    found.append("undertow " + line[len(prefix):])
    return found


def words(line: str) -> list[str]:
    code = line.split(" #", 1)[0]
    try:
        return shlex.split(code)
    except ValueError:  # an unbalanced quote inside a placeholder: plain split is enough here
        return code.split()


def resolve(tokens: list[str]) -> tuple[click.Command, list[str]]:
    """The command a line names (walking subcommands) and the option words after it."""
    command: click.Command = main
    rest = tokens[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith(("-", "[")):
        name = rest[0]
        assert name in command.commands, f"no command {name!r} under {command.name!r}"
        command, rest = command.commands[name], rest[1:]
    return command, rest


def options_of(command: click.Command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


def cases() -> list[tuple[str, str]]:
    return [(page.name, line) for page in PAGES for line in command_lines(page.read_text())]


def test_the_pages_hold_command_examples():
    assert len(cases()) >= 20, "the docs lost their command examples"


@pytest.mark.parametrize(("page", "line"), cases())
def test_each_documented_command_exists_with_its_options(page, line):
    tokens = words(line)
    command, rest = resolve(tokens)
    known = options_of(command)
    for word in rest:
        for part in word.strip("[]()|.,").split("|"):
            match = OPTION.match(part.strip("[]"))
            if match:
                assert match.group(0) in known, (
                    f"{page}: `{line}` uses {match.group(0)}, which `{command.name}` lacks")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_between_pages_resolve(page):
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http", "mailto")):
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
