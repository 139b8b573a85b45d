"""The team deployment files, tried as far as this machine allows: the compose file against the
Compose Specification's schema (no Docker engine here), the systemd units through
`systemd-analyze verify`, and the listener unit's own ExecStart run as the real command."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from listener.cli import main
from tests.test_service import _free_port, _get, feed_server  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SCHEMA = REPO / "tests" / "fixtures" / "compose" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_file_is_valid_and_every_service_has_a_healthcheck(compose):
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(compose)  # its draft
    services = compose["services"]
    assert set(services) == {"db", "listener", "scorer", "dashboard"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    for name in ("listener", "scorer", "dashboard"):
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
        assert services[name]["environment"]["UNDERTOW_DATABASE_URL"].startswith("postgresql://")
    # The listener's healthcheck asks the endpoint the listener serves, on the port it is given.
    listener = services["listener"]
    assert "9464/healthz" in " ".join(listener["healthcheck"]["test"])
    assert "0.0.0.0:9464" in listener["command"]


def test_compose_runs_scorers_beside_a_listener_that_leaves_scoring_to_them(compose):
    listener, scorer = compose["services"]["listener"], compose["services"]["scorer"]
    assert "--no-score" in listener["command"]
    assert scorer["command"][:3] == ["undertow", "score", "--follow"]
    assert scorer["deploy"]["replicas"] >= 2
    assert "ports" not in scorer  # replicas would clash on a host port
    assert "9465/healthz" in " ".join(scorer["healthcheck"]["test"])
    assert "0.0.0.0:9465" in scorer["command"]


@pytest.mark.parametrize("service", ["listener", "scorer", "dashboard"])
def test_compose_commands_are_real_undertow_commands(compose, service):
    command = compose["services"][service]["command"]
    assert command[0] == "undertow"
    result = CliRunner().invoke(main, [*command[1:], "--help"])  # unknown options would fail
    assert result.exit_code == 0, result.output


def test_the_image_pins_the_cpu_build_of_torch():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in text
    assert text.index("torch==2.13.0") < text.index("pip install .")


def _unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", ["undertow-listen.service", "undertow-dashboard.service",
                                  "undertow-score@.service"])
def test_systemd_units_verify(tmp_path, name):
    """`systemd-analyze verify` with the install path pointed at this environment's Undertow
    (the scorer template as an instance: its name is its port)."""
    undertow = Path(sys.executable).with_name("undertow")
    if not undertow.exists():
        pytest.skip("the undertow command is not installed beside this Python")
    text = (DEPLOY / "systemd" / name).read_text()
    unit = tmp_path / name.replace("@.", "@9471.")
    unit.write_text(text.replace("/opt/undertow/.venv/bin/undertow", str(undertow)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_the_listener_unit_starts_the_real_command_and_stops_on_its_kill_signal(
        tmp_path, feed_server):  # noqa: F811
    unit = _unit("undertow-listen.service")
    argv = shlex.split(unit["ExecStart"][0])
    assert argv[0].endswith("/undertow") and argv[1] == "listen"
    port = _free_port()
    args = [a.replace("127.0.0.1:9464", f"127.0.0.1:{port}") for a in argv[1:]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
    for line in unit["Environment"]:
        key, _, value = line.partition("=")
        env[key] = value
    home = tmp_path / "home"
    env.update(UNDERTOW_HOME=str(home), UNDERTOW_ENV_FILE=os.devnull,
               UNDERTOW_NEWS_FEEDS=feed_server)  # what /etc/undertow/undertow.env would hold
    cli = [sys.executable, "-m", "listener.cli"]
    subprocess.run([*cli, "brand", "add", "Acme", "--query", "acme"], env=env, check=True,
                   capture_output=True, cwd=REPO)
    proc = subprocess.Popen([*cli, *args], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):  # healthy, and through its first pass
            time.sleep(0.2)
            try:
                healthy = _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
                passed = 'undertow_source_passes_total{source="news"}' in \
                    _get(f"http://127.0.0.1:{port}/metrics")[1]
            except OSError:
                continue
            if healthy and passed:
                break
        else:
            raise AssertionError("the listener never answered /healthz after a pass")
    finally:
        proc.send_signal(getattr(signal, unit["KillSignal"][0]))
        _, err = proc.communicate(timeout=float(unit["TimeoutStopSec"][0]))
    assert proc.returncode == 0, err[-2000:]
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # the unit's JSON logs
    assert any(r.get("event") == "source_pass" and r["source"] == "news" for r in lines)


@pytest.mark.slow
def test_the_scorer_unit_starts_the_real_command_and_stops_on_its_kill_signal(tmp_path,
                                                                              tiny_model):
    """The template's ExecStart with its instance name (the port) filled in, on a store with a
    backlog: healthy on /healthz, every post scored, JSON logs, exit 0 on its KillSignal."""
    from sqlalchemy import func, select

    from listener.post import Batch, Post
    from listener.store import Store, schema

    unit = _unit("undertow-score@.service")
    argv = shlex.split(unit["ExecStart"][0])
    assert argv[0].endswith("/undertow") and argv[1:3] == ["score", "--follow"]
    port = _free_port()
    args = [a.replace("%i", str(port)) for a in argv[1:]]
    assert f"127.0.0.1:{port}" in args
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
    for line in unit["Environment"]:
        key, _, value = line.partition("=")
        env[key] = value
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'undertow.db'}"
    env.update(UNDERTOW_HOME=str(home), UNDERTOW_ENV_FILE=os.devnull, UNDERTOW_DATABASE_URL=url,
               UNDERTOW_ID_KEY=os.environ["UNDERTOW_ID_KEY"],
               UNDERTOW_SENTIMENT_MODEL=str(tiny_model))  # what undertow.env would hold
    store = Store.open(url)
    store.write(Batch(posts=[Post("x", f"s{i}", f"a{i}", f"flight {i} delayed again",
                                  datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=i))
                             for i in range(40)]))

    def scored() -> int:
        with store.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(schema.sentiment_scores)
                                ).scalar_one()

    proc = subprocess.Popen([sys.executable, "-m", "listener.cli", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):
            time.sleep(0.2)
            try:
                healthy = _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
            except OSError:
                continue
            if healthy and scored() == 40:
                break
        else:
            raise AssertionError("the scorer never answered /healthz with every post scored")
        for _ in range(100):  # the store's figures are cached for a few seconds
            if "undertow_posts_unscored 0\n" in _get(f"http://127.0.0.1:{port}/metrics")[1]:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("/metrics never showed the backlog scored")
    finally:
        proc.send_signal(getattr(signal, unit["KillSignal"][0]))
        _, err = proc.communicate(timeout=float(unit["TimeoutStopSec"][0]))
        store.close()
    assert proc.returncode == 0, err[-2000:]
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # the unit's JSON logs
    assert any(r["message"].startswith("Pass 1: scored") for r in lines)
