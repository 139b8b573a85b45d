"""`undertow collect` and `undertow listen` end to end, against the recorded APIs."""

from __future__ import annotations

import os
import re
import signal

import click
import pytest
from click.testing import CliRunner

from listener.cli.collect import parse_interval
from tests.collectors.fake_apis import one_pass


@pytest.fixture
def brands(sqlite_store, settings):
    sqlite_store.add_brand("Brexit", "#brexit")
    sqlite_store.add_brand("Debunk", "debunk")
    settings.reddit_watch = "askreddit"
    return sqlite_store


def invoke(cli, *args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def new_posts(output: str) -> int:
    return int(re.search(r"Done: ([\d,]+) new posts", output).group(1).replace(",", ""))


def test_collect_fills_the_store_and_a_rerun_adds_nothing(cli, brands, x_api, reddit_api):
    first = invoke(cli, "collect")
    assert first.exit_code == 0, first.output
    for line in ("X: search Brexit ...", "Reddit: search Debunk ...", "r/askreddit new comments",
                 "100 fetched, 100 new so far"):
        assert line in first.output
    status = brands.status()
    assert new_posts(first.output) == status["posts"] > 155 + 200
    assert status["per_platform"]["x"] == 155
    second = invoke(cli, "collect")
    assert second.exit_code == 0
    assert new_posts(second.output) == 0
    assert brands.status() == status


def test_collect_one_platform_and_one_brand(cli, brands, x_api, reddit_api):
    result = invoke(cli, "collect", "--platform", "x", "--brand", "brexit")
    assert result.exit_code == 0, result.output
    assert "Reddit" not in result.output
    assert brands.status()["per_platform"] == {"x": 155}


def test_an_auth_failure_stops_one_source_and_exits_non_zero(cli, brands, x_api, reddit_api):
    x_api.plan = ["401"]
    result = invoke(cli, "collect")
    assert result.exit_code == 1
    assert "X: stopped: X refused the bearer token (401 Unauthorized): set " \
           "UNDERTOW_X_BEARER_TOKEN" in result.output
    assert "Error: 1 part(s) of the collection failed" in result.output
    assert brands.status()["per_platform"].get("reddit", 0) > 0  # Reddit still collected


def test_unconfigured_sources_say_what_to_set(cli, brands, settings, http):
    settings.x_bearer_token = type(settings.x_bearer_token)("")
    settings.reddit_client_id = ""
    result = invoke(cli, "collect")
    assert result.exit_code == 1
    assert "No source is configured" in result.output
    assert "UNDERTOW_X_BEARER_TOKEN" in result.output
    assert "UNDERTOW_REDDIT_CLIENT_ID" in result.output
    named = invoke(cli, "collect", "--platform", "x")
    assert named.exit_code == 1
    assert named.output.startswith(
        "Error: X needs an app bearer token: set UNDERTOW_X_BEARER_TOKEN")


def test_unknown_platform_and_brand_are_one_line_errors(cli, brands, http):
    unknown = invoke(cli, "collect", "--platform", "myspace")
    assert "No collector named 'myspace'" in unknown.output
    assert "No brand named 'Nope'" in invoke(cli, "collect", "--brand", "Nope").output


def sigterm_self(*args) -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_listen_runs_passes_until_sigterm_and_stops_cleanly(cli, brands, settings, x_api,
                                                            reddit_api, tiny_model):
    # SIGTERM arrives during the second X pass, as a service manager would send it. Each pass's
    # posts go through the real pipeline, which `listen` finishes before it stops: the tiny
    # model scores them in a second where the shipped one took half a minute on two cores.
    settings.sentiment_model = str(tiny_model)
    x_api.on_search = lambda q: "since_id" in q and q["query"] == "#brexit" and sigterm_self()
    result = invoke(cli, "listen", "--every", "x=0.2s", "--every", "reddit=0.2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Listening; press Ctrl-C to stop" in lines[0]
    assert any("X: 155 new posts this pass; next pass at" in line for line in lines)
    assert any("Stopping after the current page is saved (SIGTERM)" in line for line in lines)
    assert any("X: 0 new posts this pass" in line for line in lines)  # the pass was finished
    assert any(line.startswith("Stopped: ") for line in lines)
    assert brands.status()["per_platform"]["x"] == 155
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_listen_follows_the_x_stream(cli, brands, x_api, reddit_api, sleeps):
    # The fake serves the recorded lines on the first connection; when tweepy reconnects,
    # every line has been handed over, and SIGTERM arrives.
    x_api.on_connect = lambda count: count >= 2 and sigterm_self()
    result = invoke(cli, "listen", "--platform", "x", "--stream")
    assert result.exit_code == 0, result.output
    assert "X stream: connecting" in result.output
    counts = [line for line in result.output.splitlines()
              if "X stream: " in line and "so far" in line]
    assert "(Brexit); 11 so far" in counts[-1]  # 7 streamed tweets and 4 they quote
    assert "malformed stream line (44 bytes)" in result.output
    assert sorted(r["tag"] for r in x_api.rules.values()) == ["Brexit", "Debunk"]


def test_the_same_run_on_both_dialects_is_idempotent(store, x_api, reddit_api, make, settings):
    settings.reddit_watch = "askreddit"
    store.add_brand("Brexit", "#brexit")
    store.add_brand("Debunk", "debunk")
    first = [one_pass(store, make(name)) for name in ("x", "reddit")]
    before = store.status()
    again = [one_pass(store, make(name)) for name in ("x", "reddit")]
    assert sum(r.inserted for r in first) == before["posts"]
    assert sum(r.inserted for r in again) == 0
    assert store.status() == before


def test_every_command_has_help(cli):
    for name in ("collect", "listen"):
        result = invoke(cli, name, "--help")
        assert result.exit_code == 0 and len(result.output) > 200


@pytest.mark.parametrize("text, expected", [
    ("x=15m", ("x", 900.0)), ("reddit=300", ("reddit", 300.0)), ("x = 1.5h", ("x", 5400.0))])
def test_parse_interval(text, expected):
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["x", "x=soon", "nope=5m"])
def test_parse_interval_refuses_nonsense(text):
    with pytest.raises(click.BadParameter):
        parse_interval(text)
