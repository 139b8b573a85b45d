"""Fixtures for collector tests: the fake APIs (recorded responses), settings, instant sleeps."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
import pytest
import responses

from listener.cli import Context
from listener.cli.collect import collect, listen
from listener.cli.edge import UndertowGroup
from listener.collectors import registry
from listener.collectors.retry import RetryPolicy
from listener.settings import Settings
from tests.collectors.fake_apis import FakeReddit, FakeX, read_pages

# Settings the collectors read that Settings gained with them; a test sets them as attributes.


@pytest.fixture
def fixtures(shared_data) -> Path:
    return shared_data / "fixtures"


@pytest.fixture
def x_searches(fixtures) -> dict[str, list[dict]]:
    """Recorded X search responses, by the query they answered."""
    data = fixtures / "twarc_csv_v2" / "test-data"
    return {"#brexit": read_pages(data / "brexit.jsonl"), "#kpop": read_pages(data / "kpop.jsonl")}


@pytest.fixture
def stream_lines(fixtures) -> list[bytes]:
    path = fixtures / "twarc_csv_v2" / "test-data" / "streaming_output_with_error.jsonl"
    return [line for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture
def http():
    """Every HTTP request of the test goes to the fakes; an unexpected one fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def x_api(http, x_searches, stream_lines) -> FakeX:
    return FakeX(http, x_searches, stream_lines)


@pytest.fixture
def reddit_api(http, fixtures) -> FakeReddit:
    return FakeReddit(http, fixtures / "praw_cassettes", fixtures / "reddit_threads")


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """`time.sleep` returns at once and records what it was asked to wait."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


@pytest.fixture
def settings(tmp_path) -> Settings:
    s = Settings.load(env={
        "UNDERTOW_HOME": str(tmp_path),
        "UNDERTOW_ID_KEY": os.environ["UNDERTOW_ID_KEY"],  # the key the test stores use
        "UNDERTOW_X_BEARER_TOKEN": "test-bearer-token",
        "UNDERTOW_REDDIT_CLIENT_ID": "test-client-id",
        "UNDERTOW_REDDIT_CLIENT_SECRET": "test-client-secret",
        "UNDERTOW_REDDIT_USER_AGENT": "undertow-tests/1.0",
    }, env_file=tmp_path / "absent.env")
    return s


@pytest.fixture
def notes() -> list[str]:
    return []


@pytest.fixture
def make(settings, notes, sleeps):
    """make('x', max_results=10) -> a collector built from settings, its notices in `notes`."""

    def build(name: str, **options):
        cls = registry.load(name)
        policy = RetryPolicy(cls.title, cls.classify, notify=notes.append)
        collector = cls.from_settings(settings, policy)
        for key, value in options.items():
            setattr(collector, key, value)
        return collector

    return build


@pytest.fixture
def cli(settings, sqlite_store):
    """The two commands under a group that builds the same Context as `undertow`.

    Settings point at the same SQLite file as `sqlite_store` (UNDERTOW_HOME is tmp_path).
    """
    assert settings.db_url == str(sqlite_store.engine.url)

    @click.group(cls=UndertowGroup)
    @click.pass_context
    def group(ctx: click.Context) -> None:
        ctx.obj = Context(settings)

    group.add_command(collect)
    group.add_command(listen)
    return group
