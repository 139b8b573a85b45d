"""Jobs side by side in real separate processes (`python -m listener.cli`), on both databases.

Each test gets its own store, copied from a session seed (a SQLite file copy, a PostgreSQL
`CREATE DATABASE ... TEMPLATE`), so the expensive import is done once. `snapshot` reads what a
user can see (posts, tags, scores, alerts) as plain sets to compare a parallel run with a
sequential one.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from listener.store import Store

REPO = Path(__file__).resolve().parents[2]
PASSED = ("UNDERTOW_ID_KEY",)  # settings a child keeps from the test run


@pytest.fixture(scope="session", autouse=True)
def _preload():
    """What every job imports, loaded once before the first fork (see `Proc`)."""
    import graph.detector  # noqa: F401
    import listener.cli  # noqa: F401
    import listener.jobs.detect  # noqa: F401
    import listener.jobs.score  # noqa: F401
    import nlp.scorer  # noqa: F401
# Six airlines: many tweets mention two of them, which is where brand order mattered.
BRANDS = {"United": "@united", "USAirways": "@usairways", "American": "@americanair",
          "Southwest": "@southwestair", "Delta": "@delta", "Virgin": "@virginamerica"}


class Proc:
    """`undertow ARGS` in a forked process: a real separate process with its own connections.

    Forking from the test process, which has imported the CLI, torch and the detector already,
    starts a job in milliseconds instead of the seconds a fresh interpreter takes to import them
    (that would make the suite minutes long); the child runs the CLI's own `main` exactly as the
    `undertow` script does, then leaves with `os._exit`, so it never closes the parent's
    connections on the way out.
    """

    def __init__(self, args: tuple[str, ...], env: dict, folder: Path) -> None:
        self.args = args
        self.out, self.err = folder / f"{uuid.uuid4().hex}.out", folder / f"{uuid.uuid4().hex}.err"
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:
            self._child(env)

    def _child(self, env: dict) -> None:
        code = 1
        try:
            os.environ.clear()
            os.environ.update(env)
            out = os.open(self.out, os.O_WRONLY | os.O_CREAT, 0o600)
            err = os.open(self.err, os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(out, 1)
            os.dup2(err, 2)
            # pytest's capture replaced sys.stdout with its own object: write where fds 1, 2 go.
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            from listener.cli import main

            try:
                main(list(self.args), prog_name="undertow")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def communicate(self, timeout: float = 300) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"undertow {' '.join(self.args)} ran over {timeout} s")
            else:
                time.sleep(0.02)
        return self.out.read_text(), self.err.read_text()


@dataclass
class Env:
    """One store and the environment a CLI process needs to use it."""

    url: str
    home: Path
    extra: dict

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("UNDERTOW_") or k in PASSED}
        env.update(UNDERTOW_DATABASE_URL=self.url, UNDERTOW_HOME=str(self.home), **self.extra)
        return env

    def start(self, *args: str) -> Proc:
        return Proc(args, self.env(), self.home)

    def run(self, *args: str) -> str:
        proc = self.start(*args)
        out, err = proc.communicate()
        assert proc.returncode == 0, f"undertow {' '.join(args)}: {err[-3000:]}"
        return out

    def store(self) -> Store:
        return Store.open(self.url)


def finish(*procs: Proc) -> list[tuple[int, str, str]]:
    done = []
    for p in procs:
        out, err = p.communicate()
        done.append((p.returncode, out, err))
    return done


def no_traceback(results) -> None:
    for code, _out, err in results:
        assert "Traceback" not in err, err[-3000:]
        assert code == 0 or err.startswith("Error: "), (code, err[-2000:])


def snapshot(store: Store) -> dict:
    """What users see, as sets: posts, brand tags, scores (rounded), alerts."""
    with store.engine.connect() as conn:
        def rows(sql: str) -> set:
            return {tuple(r) for r in conn.execute(text(sql))}

        return {
            "posts": rows("SELECT id, text FROM posts"),
            "tags": rows("SELECT pb.post_id, b.name FROM post_brands pb "
                         "JOIN brands b ON b.id = pb.brand_id"),
            "scores": {(pid, label, round(neg, 4), round(pos, 4)) for pid, label, neg, pos in
                       conn.execute(text("SELECT post_id, label, negative, positive "
                                         "FROM sentiment_scores"))},
            "alerts": rows("SELECT b.name, a.story_key, a.status, a.title, a.opened_at "
                           "FROM alerts a JOIN brands b ON b.id = a.brand_id"),
        }


def gold_scores(store: Store) -> None:
    """The airline file's own crowd labels as the current scores: detection then needs no model
    run (the detector reads the labels the store holds, whichever model wrote them)."""
    with store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sentiment_scores (post_id, model_version, label, negative, neutral, "
            "positive, scored_at) SELECT id, 'gold', gold_label, "
            "CASE WHEN gold_label = 'negative' THEN 1.0 ELSE 0.0 END, "
            "CASE WHEN gold_label = 'neutral' THEN 1.0 ELSE 0.0 END, "
            "CASE WHEN gold_label = 'positive' THEN 1.0 ELSE 0.0 END, collected_at "
            "FROM posts WHERE gold_label IS NOT NULL"))
    store.set_meta({"sentiment_model_version": "gold"})


@pytest.fixture(scope="session")
def airline(shared_data) -> Path:
    path = shared_data / "airline" / "Tweets.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def _head(airline: Path, rows: int, out: Path) -> Path:
    import csv

    with airline.open(encoding="utf-8", newline="") as src, \
            out.open("w", encoding="utf-8", newline="") as dst:
        w = csv.writer(dst)
        for i, row in enumerate(csv.reader(src)):
            if i > rows:
                break
            w.writerow(row)
    return out


@pytest.fixture(scope="session")
def small_airline(airline, tmp_path_factory) -> Path:
    """The first 3,000 tweets: enough for two jobs to overlap, small enough for CI."""
    return _head(airline, 3000, tmp_path_factory.mktemp("airline") / "Tweets.csv")


@pytest.fixture(scope="session")
def scoring_airline(airline, tmp_path_factory) -> Path:
    """The first 600 tweets: three scorers on two cores still take turns many times."""
    return _head(airline, 600, tmp_path_factory.mktemp("airline600") / "Tweets.csv")


class Stores:
    """Fresh stores of one dialect, empty or copied from a named seed."""

    def __init__(self, dialect: str, tmp: Path, pg_url: str | None) -> None:
        self.dialect, self.tmp, self.pg_url = dialect, tmp, pg_url
        self.seeds: dict[str, str] = {}
        self.made: list[str] = []

    def _admin(self):
        url = make_url(self.pg_url).set(database="postgres")
        return create_engine(url, isolation_level="AUTOCOMMIT")

    def fresh(self, seed: str | None = None) -> Env:
        name = f"c{uuid.uuid4().hex[:8]}"
        home = self.tmp / name
        home.mkdir()
        if self.dialect == "sqlite":
            db = home / "undertow.db"
            if seed:
                shutil.copyfile(self.seeds[seed], db)
            return Env(f"sqlite:///{db}", home, {})
        base = make_url(self.pg_url).database
        dbname = f"{base}_{name}"
        admin = self._admin()
        with admin.connect() as conn:
            template = f' TEMPLATE "{self.seeds[seed]}"' if seed else ""
            conn.execute(text(f'CREATE DATABASE "{dbname}"{template}'))
        admin.dispose()
        self.made.append(dbname)
        return Env(make_url(self.pg_url).set(database=dbname).render_as_string(False), home, {})

    def seed(self, name: str, build) -> None:
        """Build a seed once: `build(env)` fills a fresh store that later copies start from."""
        if name in self.seeds:
            return
        env = self.fresh()
        build(env)
        if self.dialect == "sqlite":
            store = env.store()
            with store.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
            self.seeds[name] = env.url.removeprefix("sqlite:///")
        else:
            self.seeds[name] = make_url(env.url).database

    def drop_all(self) -> None:
        if self.dialect != "postgresql" or not self.made:
            return
        admin = self._admin()
        with admin.connect() as conn:
            for db in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def detectable(env: Env, airline: Path) -> None:
    """The `detectable` seed: the whole airline week (bursts need it), the six brands, and the
    file's crowd labels as scores. One builder, since the seed is shared by name."""
    env.run("import", str(airline))
    for name, query in BRANDS.items():
        env.run("brand", "add", name, "--query", query)
    store = env.store()
    gold_scores(store)
    store.close()


# Per session, not per module: a seed (the whole airline file imported, seconds on PostgreSQL)
# is built once for every module that asks for it, and tests only ever get copies of it.
@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def stores(request, tmp_path_factory):
    pg = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_url")
    made = Stores(request.param, tmp_path_factory.mktemp(request.param), pg)
    yield made
    made.drop_all()


class Inbox:
    """A real SMTP server's mailbox (aiosmtpd on loopback): (recipient, subject) per message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, str(msg["Subject"])))
        return "250 OK"

    def sent(self) -> list[tuple[str, str]]:
        return list(self.messages)

    def clear(self) -> None:
        self.messages.clear()


@pytest.fixture
def smtp_inbox():
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()
