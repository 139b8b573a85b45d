"""The one place faults are handled: waits, backoff, give-up, and stop during a wait."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest

from listener.collectors.retry import Fault, RetryPolicy, Stopped, Unavailable
from listener.errors import AuthError, SourceError


class Boom(Exception):
    def __init__(self, fault: Fault) -> None:
        self.fault = fault


def classify(exc: BaseException) -> Fault | None:
    return exc.fault if isinstance(exc, Boom) else None


def failing(*faults: Fault, result="ok"):
    """A call that raises the given faults in turn, then returns `result`."""
    queue = list(faults)

    def call():
        if queue:
            raise Boom(queue.pop(0))
        return result

    return call


def policy(**kwargs) -> RetryPolicy:
    return RetryPolicy("Src", classify, rng=random.Random(7), **kwargs)


def test_transient_faults_back_off_exponentially_with_jitter(sleeps):
    p = policy()
    assert p.call(failing(*[Fault("transient", "503")] * 5), "search") == "ok"
    assert len(sleeps) == 5
    for attempt, delay in enumerate(sleeps):
        ceiling = min(300, 2 * 2 ** attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(sleeps)) == 5  # jittered, not a fixed schedule


def test_backoff_is_capped():
    p = policy(backoff_cap=10)
    assert all(5 <= p.backoff(attempt) <= 10 for attempt in range(3, 20))


def test_gives_up_after_max_attempts_with_the_last_error(sleeps):
    p = policy(max_attempts=3)
    with pytest.raises(SourceError, match="failed 3 times; last error: 502"):
        p.call(failing(*[Fault("transient", "502")] * 3), "search")
    assert len(sleeps) == 2


def test_rate_limit_waits_until_the_reset_plus_a_second(sleeps, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0)
    notes = []
    p = policy(notify=notes.append)
    assert p.call(failing(Fault("rate_limit", "429", reset_at=1_000_300.0)), "search") == "ok"
    assert sleeps == [301.0]
    assert notes == ["Src rate limit reached (search); waiting until 13:51:41 UTC (5 min 1 s)"]
    assert p.rate_limited == 1 and p.waited == 301.0


def test_rate_limit_without_reset_backs_off_from_a_minute(sleeps):
    p = policy()
    p.call(failing(Fault("rate_limit", "429"), Fault("rate_limit", "429")), "search")
    assert sleeps == [60.0, 120.0]


def test_rate_limit_wait_is_capped_and_says_so(sleeps):
    notes = []
    p = policy(max_rate_wait=900, notify=notes.append)
    p.call(failing(Fault("rate_limit", "429", reset_at=time.time() + 86400)), "search")
    assert sleeps == [900]
    assert "capped" in notes[0]


def test_endless_rate_limits_give_up(sleeps):
    p = policy(max_rate_waits=2)
    with pytest.raises(SourceError, match="still rate limited"):
        p.call(failing(*[Fault("rate_limit", "429")] * 5), "search")


def test_auth_and_fatal_faults_are_not_retried(sleeps):
    with pytest.raises(AuthError, match="set UNDERTOW_TOKEN"):
        policy().call(failing(Fault("auth", "refused: set UNDERTOW_TOKEN")), "search")
    with pytest.raises(SourceError, match="Src search: bad query"):
        policy().call(failing(Fault("fatal", "bad query")), "search")
    assert sleeps == []


def test_unknown_exceptions_propagate_unchanged():
    def bug():
        raise KeyError("a bug, not an API fault")

    with pytest.raises(KeyError):
        policy().call(bug, "search")


def test_a_stop_request_ends_a_wait_early(monkeypatch):
    stop = threading.Event()
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 3:
            stop.set()

    monkeypatch.setattr(time, "sleep", sleep)
    p = policy(stop=stop)
    with pytest.raises(Stopped):
        p.call(failing(Fault("rate_limit", "429", reset_at=time.time() + 600)), "search")
    assert slept == [1.0, 1.0, 1.0]


def test_reconnect_waits(sleeps):
    p = policy()
    p.reconnect(Fault("transient", "closed"), 0, "stream")
    p.reconnect(Fault("rate_limit", "429"), 1, "stream")
    assert 1 <= sleeps[0] <= 2 and sleeps[1] == 120.0


def test_an_unreachable_server_is_down_for_the_rest_of_the_run(sleeps):
    p = policy(max_attempts=3)
    with pytest.raises(Unavailable, match="failed 3 times; last error: refused") as down:
        p.call(failing(*[Fault("unreachable", "refused")] * 3), "search", "a.example")
    assert down.value.scope == "a.example" and len(sleeps) == 2
    tried = []
    with pytest.raises(Unavailable, match="refused"):  # at once: no call, no backoff
        p.call(lambda: tried.append(1), "search", "a.example")
    assert tried == [] and len(sleeps) == 2
    assert p.call(lambda: "ok", "search", "b.example") == "ok"  # other servers go on
    p.down.clear()  # the job's next pass
    assert p.call(lambda: "ok", "search", "a.example") == "ok"


def test_a_notice_goes_to_notify_or_to_the_log_never_both(sleeps, caplog):
    caplog.set_level(logging.INFO)
    notes = []
    policy(notify=notes.append).call(failing(Fault("transient", "503")), "search")
    assert len(notes) == 1 and caplog.records == []
    policy().call(failing(Fault("transient", "503")), "search")
    assert [r.getMessage() for r in caplog.records] == [notes[0]]
