"""Undertow as a live service: publish real posts to a local X/Reddit server at a chosen rate,
run the real `undertow listen` against it, and measure how long each post takes to be stored,
scored and (for an injected negative cascade) alerted by email.

What runs: `bench/live_wire.py` serves X's filtered stream, stream rules and recent search, and
Reddit's token, listings, search and threads, on 127.0.0.1, in their wire formats; the real
tweepy and praw inside `undertow listen --stream` (a subprocess, its own Python) read them.
Alerts go to aiosmtpd on loopback and to a local chat-webhook receiver, which record arrival
times (`bench/live_receivers.py`). What is published: `bench/live_feed.py`.

Measured: publish -> stored (the harness sees the row; polled every second), publish -> scored
(the score row's `scored_at`), publish -> alert delivered (the cascade's root published -> its
first alert email received), each p50 / p95 / max; the backlog (published, not yet scored) at
its largest, from those same timestamps, and the listener's own `undertow_posts_unscored`
gauge at its largest. After publishing stops, the harness waits (`--drain`) for the listener
to catch up, so a pipeline that cannot keep up shows as a large backlog and long latencies,
never as missing posts.

`--soak` adds faults: `kill -9` of the listener every `--kill-every` seconds (restarted at
once), the SMTP server down for `--smtp-down` seconds from a third of the run, and, only with
`--restart-pg` on a PostgreSQL run, `pg_ctl -m fast restart` once mid-run, of a private
throwaway server the run starts for itself (`bench/private_pg.py`; `--private-pg` uses one
without the restart), never a shared server. Afterwards it
counts every post stored once, scored once, every cascade alerted once, every email delivered
once.

    python bench/live.py --rate 10 --seconds 60 [--store sqlite|postgres] [--json]
    python bench/live.py --rate 100 --seconds 300 --soak --kill-every 60 --smtp-down 60 --json

PostgreSQL: UNDERTOW_BENCH_PG_URL (or UNDERTOW_TEST_PG_URL) names a server and database; the
run creates a fresh database `<name>_live_<pid>` beside it and drops it afterwards. With
`--private-pg` or `--restart-pg` the run starts its own server instead and removes it after.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live_feed import AIRLINES, SUBREDDIT, Feed, load_texts  # noqa: E402
from bench.live_receivers import Mailbox, WebhookReceiver, free_port  # noqa: E402
from bench.live_wire import LiveServer, WireState  # noqa: E402

RECIPIENT = "brand-team@example.com"


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    s = sorted(values)

    def at(q: float) -> float:  # nearest rank: the smallest value with q of them at or below
        return round(s[max(0, math.ceil(q * len(s)) - 1)], 2)

    return {"p50": at(0.5), "p95": at(0.95), "max": round(s[-1], 2)}


# -- the store -------------------------------------------------------------------------------

class StoreSetup:
    """A fresh database for the run: a SQLite file, or a new PostgreSQL database, on the server
    UNDERTOW_BENCH_PG_URL names or, with `private`, on a throwaway server of the run's own
    (`bench/private_pg.py`), the only kind `restart()` may restart."""

    def __init__(self, kind: str, workdir: Path, private: bool = False) -> None:
        self.kind = kind
        self._admin = None
        self._name = None
        self.pg = None  # the private server, when there is one
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'undertow.db'}"
            return
        if private:
            from bench.private_pg import PrivatePG

            self.pg = PrivatePG().start()
            self.url = self.pg.create_database("undertow_live")
            return
        base = os.environ.get("UNDERTOW_BENCH_PG_URL") or os.environ.get("UNDERTOW_TEST_PG_URL")
        if not base:
            raise SystemExit("--store postgres needs UNDERTOW_BENCH_PG_URL (or "
                             "UNDERTOW_TEST_PG_URL), e.g. postgresql://postgres@127.0.0.1/undertow, "
                             "or --private-pg")
        from sqlalchemy import create_engine, text

        base = base.replace("postgresql://", "postgresql+psycopg://", 1)
        server, _, db = base.rpartition("/")
        self._name = f"{db.split('?')[0]}_live_{os.getpid()}"
        self._admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self._name}"'))
        self.url = f"{server}/{self._name}"

    def restart(self) -> None:
        """Restart the database server mid-run: only a private one, never a shared server."""
        if self.pg is None:
            raise RuntimeError("only a private PostgreSQL server (--private-pg) is restarted")
        took = self.pg.restart()
        print(f"PostgreSQL (private, port {self.pg.port}) restarted in {took:.1f} s",
              file=sys.stderr)

    def drop(self, keep: bool = False) -> None:
        if self.pg is not None:
            self.pg.stop(remove=not keep)
            return
        if self._admin is None or keep:
            return
        from sqlalchemy import text

        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
        self._admin.dispose()


# -- the listener under test -----------------------------------------------------------------

@dataclass
class Listener:
    """`undertow listen` as a subprocess, restartable; its output goes to a log file."""

    env: dict[str, str]
    args: list[str]
    log_path: Path
    proc: subprocess.Popen | None = None
    starts: int = 0
    kills: int = 0

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n=== start {self.starts} at {time.time():.3f}\n".encode())
        log.flush()
        self.proc = subprocess.Popen([sys.executable, "-m", "listener.cli", *self.args],
                                     env=self.env, cwd=ROOT, stdout=log, stderr=log)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def stop(self, timeout: float = 120.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def listener_env(store_url: str, server: str, mailbox: Mailbox, webhook: str,
                 metrics: str, home: Path, id_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
    env.update({
        "UNDERTOW_ID_KEY": id_key,  # the key the harness opened the store with
        "PYTHONPATH": str(ROOT),
        "UNDERTOW_HOME": str(home),
        "UNDERTOW_ENV_FILE": str(home / "none.env"),
        "UNDERTOW_DATABASE_URL": store_url,
        "UNDERTOW_X_BEARER_TOKEN": "live-replay-token",
        "UNDERTOW_X_BASE_URL": server,
        "UNDERTOW_REDDIT_CLIENT_ID": "live-replay",
        "UNDERTOW_REDDIT_CLIENT_SECRET": "live-replay-secret",
        "UNDERTOW_REDDIT_BASE_URL": server,
        "UNDERTOW_REDDIT_SUBREDDITS": SUBREDDIT,
        "UNDERTOW_REDDIT_WATCH": SUBREDDIT,
        "UNDERTOW_SMTP_HOST": "127.0.0.1",
        "UNDERTOW_SMTP_PORT": str(mailbox.port),
        "UNDERTOW_SMTP_SECURITY": "none",
        "UNDERTOW_ALERT_RECIPIENTS": RECIPIENT,
        "UNDERTOW_ALERT_WEBHOOK_URL": webhook,
        "UNDERTOW_METRICS_ADDRESS": metrics,
        "UNDERTOW_RETENTION_DAYS": "0",
    })
    for key in ("UNDERTOW_SENTIMENT_MODEL", "UNDERTOW_SENTIMENT_INT8"):
        if key in os.environ:
            env[key] = os.environ[key]
    (home / "none.env").write_text("")
    return env


# -- what the harness observes ---------------------------------------------------------------

@dataclass
class Observations:
    published: dict[tuple[str, str], float] = field(default_factory=dict)  # (platform, id) -> t
    stored: dict[tuple[str, str], float] = field(default_factory=dict)
    unscored_gauge: list[tuple[float, int]] = field(default_factory=list)
    behind_max_s: float = 0.0  # how far the publisher fell behind its schedule
    lock: threading.Lock = field(default_factory=threading.Lock)


def poll_store(store, obs: Observations, stop: threading.Event, every: float = 1.0) -> None:
    """Record when each published post is first seen in the store."""
    from sqlalchemy import select

    from listener.post import utcnow  # noqa: F401 - same clock as the listener's
    from listener.store import schema

    p = schema.posts
    while not stop.wait(every):
        with obs.lock:
            unseen = [t for k, t in obs.published.items() if k not in obs.stored]
        if not unseen:
            continue
        since = max(min(unseen), time.time() - 600) - 5
        try:
            with store.engine.connect() as conn:
                rows = conn.execute(select(p.c.platform, p.c.native_id).where(
                    p.c.collected_at >= _utc(since))).all()
        except Exception:  # noqa: BLE001 - the database may be restarting (the soak)
            continue
        now = time.time()
        with obs.lock:
            for r in rows:
                key = (r.platform, r.native_id)
                if key in obs.published and key not in obs.stored:
                    obs.stored[key] = now


def _utc(t: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC)


def scrape(url: str, obs: Observations, stop: threading.Event, every: float = 2.0) -> None:
    """The listener's own backlog gauge, as Prometheus would scrape it."""
    while not stop.wait(every):
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("undertow_posts_unscored "):
                obs.unscored_gauge.append((time.time(), int(float(line.split()[1]))))


# -- the run ---------------------------------------------------------------------------------

def wait_until(check, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def pick_roots(texts, n: int, seed: int) -> list[str]:
    """Root complaints the model itself reads as negative (a cascade of a post the model
    scores neutral is not a negative cascade to Undertow, so it could not be expected)."""
    import random

    from listener.jobs.score import load_scorer

    rng = random.Random(seed)
    pool = [t for t in texts if t.negative and t.confident]
    rng.shuffle(pool)
    scorer = load_scorer(os.environ.get("UNDERTOW_SENTIMENT_MODEL") or None, threads=1)
    chosen: list[str] = []
    for start in range(0, len(pool), 32):
        batch = pool[start:start + 32]
        for t, s in zip(batch, scorer.score([t.text for t in batch]), strict=True):
            if s.label == "negative" and s.negative >= 0.9:
                chosen.append(t.text)
        if len(chosen) >= n:
            break
    return chosen[:n]


def run(args: argparse.Namespace) -> dict:
    from listener.store import Store

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="undertow-live-"))
    workdir.mkdir(parents=True, exist_ok=True)
    texts = load_texts()
    cascades = args.cascades if args.cascades is not None else max(1, int(args.seconds // 60))
    roots = pick_roots(texts, cascades, args.seed) if cascades else []
    feed = Feed(texts, rate=args.rate, seconds=args.seconds, cascades=cascades,
                cascade_size=args.cascade_size,
                cascade_span_s=min(args.cascade_span, max(20.0, args.seconds * 0.6)),
                reddit_share=args.reddit_share, seed=args.seed, roots=roots)
    setup = StoreSetup(args.store, workdir, private=args.private_pg or args.restart_pg)
    id_key = secrets.token_hex(32)  # one per run: the harness and the listener share it
    store = Store.open(setup.url, id_key=id_key.encode())
    for name, handle in AIRLINES.items():
        store.add_brand(name, handle, competitor_group="airlines")

    state = WireState()
    server = LiveServer(state).start()
    mailbox = Mailbox()
    mailbox.up()
    webhook = WebhookReceiver()
    metrics = f"127.0.0.1:{free_port()}"
    env = listener_env(setup.url, server.url, mailbox, webhook.url, metrics, workdir,
                       id_key)
    listen_args = ["listen", "--stream", "--platform", "x", "--platform", "reddit",
                   "--every", f"x={args.search_every}", "--every", f"reddit={args.reddit_every}",
                   "--pipeline-every", f"{args.pipeline_every}s"]
    if args.scorers:  # the deployment's shape: one listener that leaves scoring to N followers
        listen_args.append("--no-score")
    listener = Listener(env, listen_args, workdir / "listen.log")
    obs = Observations()
    stop = threading.Event()
    pollers = [threading.Thread(target=poll_store, args=(store, obs, stop), daemon=True),
               threading.Thread(target=scrape, args=(f"http://{metrics}/metrics", obs, stop),
                                daemon=True)]
    scorers: list[subprocess.Popen] = []
    db_restarts = 0
    result: dict = {}
    try:
        listener.start()
        if not wait_until(lambda: bool(state.connections) or not listener.alive(), 300):
            raise SystemExit(f"the listener did not connect to the stream; see {listener.log_path}")
        if not listener.alive():
            raise SystemExit(f"the listener exited; see {listener.log_path}")
        for i in range(args.scorers):
            log = (workdir / f"score{i + 1}.log").open("ab")
            scorers.append(subprocess.Popen(
                [sys.executable, "-m", "listener.cli", "score", "--follow", "--threads", "1",
                 "--idle", "1s"], env=env, cwd=ROOT, stdout=log, stderr=log))
        for t in pollers:
            t.start()
        started = time.time()
        faults = _faults(args, started)
        for item in feed.schedule(started + 1.0):
            delay = item.at - time.time()
            if delay > 0:
                time.sleep(delay)
            else:
                obs.behind_max_s = max(obs.behind_max_s, -delay)
            now = time.time()
            if item.platform == "x":
                state.publish_tweet(item.payload, item.users)
            else:
                state.publish_reddit(item.payload)
            with obs.lock:
                obs.published[(item.platform, item.native_id)] = now
            if item.root:
                feed.cascades[item.cascade].published_at = now
            if item.detectable:
                feed.cascades[item.cascade].detectable_at = now
            db_restarts += _apply_faults(faults, now, listener, mailbox, args, setup, store)
        publish_end = time.time()
        mailbox.up()
        if not listener.alive():
            listener.start()
        caught_up = wait_until(lambda: _settled(store, obs, feed, mailbox), args.drain, 2.0)
        result = _measure(store, obs, feed, mailbox, webhook, args, started, publish_end,
                          caught_up, listener, db_restarts, state)
    finally:
        stop.set()
        for p in scorers:
            p.send_signal(signal.SIGTERM)
        listener.stop()
        for p in scorers:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        mailbox.down()
        webhook.stop()
        server.stop()
        store.close()
        setup.drop(keep=args.keep)
    result["workdir"] = str(workdir)
    return result


@dataclass
class _Fault:
    at: float
    what: str
    done: bool = False


def _faults(args: argparse.Namespace, started: float) -> list[_Fault]:
    out: list[_Fault] = []
    if not args.soak:
        return out
    t = args.kill_every
    while t < args.seconds:
        out.append(_Fault(started + t, "kill"))
        t += args.kill_every
    if args.smtp_down:
        begin = started + args.seconds / 3
        out += [_Fault(begin, "smtp down"), _Fault(begin + args.smtp_down, "smtp up")]
    if args.restart_pg and args.store == "postgres":
        at = args.seconds / 2
        # Not within 30 s of a kill: a restart that lands while the listener is down (or still
        # loading its model) meets no connection of its own. The 30-minute soak at 2026-12-04
        # 02:05 had its restart at 900 s, the same second as the third kill.
        if any(abs(at - k) < 30 for k in _kill_times(args)):
            at += args.kill_every / 2
        out.append(_Fault(started + at, "pg restart"))
    return sorted(out, key=lambda f: f.at)


def _kill_times(args: argparse.Namespace) -> list[float]:
    return [f * args.kill_every for f in range(1, math.ceil(args.seconds / args.kill_every))
            if f * args.kill_every < args.seconds]


KILL_DEFER_S = 10.0  # how long a kill waits for an email in flight to finish


def _email_in_flight(store) -> bool:
    from listener.store.outbox import outbox

    try:
        return bool(outbox(store, "sending"))
    except Exception:  # noqa: BLE001 - the database may be restarting (the soak)
        return False


def _apply_faults(faults: list[_Fault], now: float, listener: Listener, mailbox: Mailbox,
                  args: argparse.Namespace, setup: StoreSetup | None = None,
                  store=None) -> int:
    """Fire the faults that are due. A kill waits (up to KILL_DEFER_S, without holding up the
    publisher) while an alert email is being sent: a kill inside the SMTP transaction leaves
    the message "sending" for the outbox's lease, and it may or may not have been delivered
    (docs/live.md, the known in-flight case); the soak counts what must hold around it."""
    restarts = 0
    for f in faults:
        if f.done or f.at > now:
            continue
        if (f.what == "kill" and store is not None and now - f.at < KILL_DEFER_S
                and _email_in_flight(store)):
            continue  # look again at the next published post
        f.done = True
        if f.what == "kill":
            listener.kill9()
            listener.start()
        elif f.what == "smtp down":
            mailbox.down()
        elif f.what == "smtp up":
            mailbox.up()
        elif f.what == "pg restart":
            setup.restart()  # the run's private server (--restart-pg implies --private-pg)
            restarts += 1
    if not listener.alive():  # it must never die on its own: restart it, but say so
        print(f"listener exited with {listener.proc.returncode}; restarting", file=sys.stderr)
        listener.start()
    return restarts


def _cascade_keys(feed: Feed) -> dict[str, int]:
    from listener.post import stable_id

    return {f"cascade:{stable_id('x', c.root_id)}": c.index for c in feed.cascades
            if c.root_id}


def _settled(store, obs: Observations, feed: Feed, mailbox: Mailbox) -> bool:
    """Every published post stored and scored, and the outbox empty of pending messages."""
    from sqlalchemy import func, select

    from listener.store import schema
    from listener.store.scores import count_unscored, current_model_version

    with obs.lock:
        if len(obs.stored) < len(obs.published):
            return False
    try:
        with store.engine.connect() as conn:
            version = current_model_version(conn)
            n = schema.alert_notifications
            waiting = conn.execute(select(func.count()).select_from(n).where(
                n.c.status.in_(("pending", "sending")))).scalar_one()
        if version is None or count_unscored(store, version) or waiting:
            return False
        # Detection has read up to the last post: its cursor is at or past it.
        cursor = store.get_meta("detect_cursor")
        last = max(obs.published.values())
        return cursor is not None and _parse(cursor) >= last - 1.0
    except Exception:  # noqa: BLE001 - restarting database
        return False


def _parse(value: str) -> float:
    from datetime import UTC, datetime

    t = datetime.fromisoformat(value)  # SQLite keeps UTC times without their zone
    return t.replace(tzinfo=t.tzinfo or UTC).timestamp()


def _measure(store, obs, feed, mailbox, webhook, args, started, publish_end, caught_up,
             listener, db_restarts, state) -> dict:
    from sqlalchemy import func, select

    from listener.post import stable_id
    from listener.store import schema
    from listener.store.scores import current_model_version

    p, s, a, n = schema.posts, schema.sentiment_scores, schema.alerts, \
        schema.alert_notifications
    with store.engine.connect() as conn:
        version = current_model_version(conn)
        rows = conn.execute(select(p.c.platform, p.c.native_id, func.count())
                            .group_by(p.c.platform, p.c.native_id)).all()
        stored_counts = {(r[0], r[1]): r[2] for r in rows}
        score_rows = conn.execute(
            select(p.c.platform, p.c.native_id, s.c.scored_at, s.c.model_version)
            .select_from(s.join(p, p.c.id == s.c.post_id))).all()
        alerts = conn.execute(select(a.c.id, a.c.story_key, a.c.status, a.c.opened_at,
                                     a.c.severity)).all()
        outbox = conn.execute(select(n.c.key, n.c.channel, n.c.recipient, n.c.status,
                                     n.c.alert_id, n.c.message_id)).all()
    published = dict(obs.published)
    sent = set(published)
    stored = {k for k in sent if stored_counts.get(k)}
    scored_at: dict[tuple[str, str], float] = {}
    scored_times: dict[tuple[str, str], int] = {}
    for r in score_rows:
        key = (r.platform, r.native_id)
        if key in sent and r.model_version == version:
            scored_times[key] = scored_times.get(key, 0) + 1
            t = r.scored_at.timestamp() if r.scored_at.tzinfo else \
                r.scored_at.replace(tzinfo=_utc(0).tzinfo).timestamp()
            scored_at[key] = t
    to_stored = [obs.stored[k] - published[k] for k in sent if k in obs.stored]
    to_scored = [scored_at[k] - published[k] for k in sent if k in scored_at]
    # The backlog: published and not yet scored, at every moment something happened.
    events = sorted([(t, 1) for t in published.values()] + [(t, -1) for t in scored_at.values()])
    level = backlog_max = 0
    for _, d in events:
        level += d
        backlog_max = max(backlog_max, level)
    keys = _cascade_keys(feed)
    by_cascade: dict[int, list] = {}
    others = []
    for al in alerts:
        if al.story_key in keys:
            by_cascade.setdefault(keys[al.story_key], []).append(al)
        elif al.status != "watch":
            others.append(al)
    reported = {i: [al for al in rows_ if al.status != "watch"]
                for i, rows_ in by_cascade.items()}
    mails = mailbox.snapshot()
    first_mail: dict[int, float] = {}
    for m in mails:
        if m.alert_id is not None:
            first_mail[m.alert_id] = min(first_mail.get(m.alert_id, m.at), m.at)
    to_alert, from_detectable, alert_detail = [], [], []  # from the root; from its 30th reaction
    for c in feed.cascades:
        ids = [al.id for al in reported.get(c.index, [])]
        got = [first_mail[i] for i in ids if i in first_mail]
        if got and c.published_at:
            to_alert.append(min(got) - c.published_at)
        if got and c.detectable_at:
            from_detectable.append(min(got) - c.detectable_at)
        alert_detail.append({"brand": c.brand, "root": c.root_id, "alerts": ids,
                             "email_after_s": round(min(got) - c.published_at, 1)
                             if got and c.published_at else None})
    emails_expected = {(o.message_id, o.recipient) for o in outbox
                       if o.channel == "email" and o.status == "sent"}
    email_rows = [o for o in outbox if o.channel == "email"]
    received: dict[tuple[str, str], int] = {}
    for m in mails:
        received[(m.key, m.recipient)] = received.get((m.key, m.recipient), 0) + 1
    hooks: dict[str, int] = {}
    for h in webhook.snapshot():
        hooks[h.key] = hooks.get(h.key, 0) + 1
    gauge_max = max((v for _, v in obs.unscored_gauge), default=None)
    with store.engine.connect() as conn:
        mentions = conn.execute(select(func.count(func.distinct(schema.post_brands.c.post_id)))
                                ).scalar_one()
    log_text = listener.log_path.read_text(errors="replace")
    read = sum(int(m.replace(",", "")) for m in
               re.findall(r"Detection read ([\d,]+) new brand mentions", log_text))
    sent_rate = len(sent) / max(publish_end - started, 1e-9)
    out = {
        "rate": args.rate,
        "store": args.store,
        "publish_to_alert_s": percentiles(to_alert),
        "backlog_max": backlog_max,
        "detectable_to_alert_s": percentiles(from_detectable),
        "publish_to_stored_s": percentiles(to_stored),
        "publish_to_scored_s": percentiles(to_scored),
        "seconds": args.seconds,
        "sent_rate": round(sent_rate, 1),
        "publisher_behind_max_s": round(obs.behind_max_s, 2),
        "backlog_gauge_max": gauge_max,
        "caught_up": caught_up,
        "drain_s": round(time.time() - publish_end, 1),
        "cascades": alert_detail,
        "other_alerts": len(others),
        # Brand mentions stored, and how many detection read (from the listener's log; after
        # a kill -9 it re-reads from its last saved state, so a soak can count some twice).
        "detection": {"mentions": mentions, "read": read},
        "platforms": {pl: sum(1 for k in sent if k[0] == pl) for pl in ("x", "reddit")},
        "requests": dict(state.requests),
        "webhook_posts": sum(hooks.values()),
        "webhook_doubled": sum(v - 1 for v in hooks.values() if v > 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "scorers": args.scorers,
    }
    if args.soak:
        cascades_alerted = sum(1 for c in feed.cascades if reported.get(c.index))
        out.update({
            "posts": {"sent": len(sent), "stored": len(stored),
                      "duplicated": sum(stored_counts[k] - 1 for k in stored),
                      "scored": len(scored_times),
                      "scored_twice": sum(1 for v in scored_times.values() if v > 1)},
            "alerts": {"expected": len(feed.cascades), "opened": cascades_alerted,
                       "doubled": sum(len(v) - 1 for v in reported.values() if len(v) > 1)},
            "emails": {"expected": len(email_rows),
                       "delivered": sum(1 for k in emails_expected if received.get(k)),
                       "doubled": sum(v - 1 for v in received.values() if v > 1),
                       "failed": sum(1 for o in email_rows if o.status == "failed")},
            "kills": listener.kills,
            "db_restarts": db_restarts,
            "smtp_outages": [[round(a_ - started, 1), None if b is None else round(b - started, 1)]
                             for a_, b in mailbox.outages],
        })
    del stable_id
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=10.0, help="posts published per second")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to publish")
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--cascades", type=int, default=None,
                    help="negative cascades to inject (default: one a minute, at least one)")
    ap.add_argument("--cascade-size", type=int, default=150, help="reactions per cascade")
    ap.add_argument("--cascade-span", type=float, default=90.0,
                    help="seconds over which a cascade's reactions arrive")
    ap.add_argument("--reddit-share", type=float, default=0.02,
                    help="share of background posts published on Reddit")
    ap.add_argument("--pipeline-every", type=float, default=5.0,
                    help="listen --pipeline-every, seconds")
    ap.add_argument("--search-every", default="30s", help="listen --every x=...")
    ap.add_argument("--reddit-every", default="15s", help="listen --every reddit=...")
    ap.add_argument("--drain", type=float, default=300.0,
                    help="seconds to wait after publishing for the listener to catch up")
    ap.add_argument("--soak", action="store_true", help="inject faults and count exactly-once")
    ap.add_argument("--kill-every", type=float, default=180.0,
                    help="soak: kill -9 the listener this often (seconds)")
    ap.add_argument("--smtp-down", type=float, default=300.0,
                    help="soak: seconds the SMTP server is down, from a third of the run")
    ap.add_argument("--restart-pg", action="store_true",
                    help="soak on postgres: restart the database server once, mid-run (implies "
                         "--private-pg: never a shared server)")
    ap.add_argument("--private-pg", action="store_true",
                    help="postgres: run on a throwaway server of this run's own (initdb into a "
                         "temporary folder, a free port) instead of UNDERTOW_BENCH_PG_URL")
    ap.add_argument("--scorers", type=int, default=0,
                    help="run `listen --no-score` and this many `undertow score --follow "
                         "--threads 1` processes beside it (on PostgreSQL they split the work); "
                         "0: the listener scores in its own pipeline")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default=None, help="keep the logs and SQLite file here")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
