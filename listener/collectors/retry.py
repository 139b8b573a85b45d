"""Every fault an API can throw at a collector is handled here, and only here.

Collectors wrap each API call in `RetryPolicy.call`; a collector's `classify` says what an
exception means (rate limited until when, transient, credentials refused, or fatal) and this
module decides what to do about it:

- rate limited: wait until the reset the API announced (capped, announced to the user);
- transient (5xx, truncated body): retry with exponential backoff and jitter;
- unreachable (no connection could be made: refused, no such host, connect timeout): retried
  the same way, but when the retries run out the server counts as down for the rest of the run
  (`Unavailable`), so the job skips its other units instead of each one waiting through the same
  backoff. A connection that opened and then failed (read timeout, dropped mid-response) is
  transient: one slow request must not take the whole source down;
- credentials refused: raise AuthError, which stops that source;
- anything else the API refused: raise SourceError for that unit of work.

Each notice goes to `notify` (the user's progress output) or, without one, to the log: never
both, which printed every warning twice. Waiting goes through `time.sleep`, looked up at call
time, so tests patch it and run instantly.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

from listener.errors import AuthError, SourceError

__all__ = ["Fault", "RetryPolicy", "Stopped", "Unavailable", "connection_fault", "describe_wait",
           "never_connected"]

log = logging.getLogger(__name__)
T = TypeVar("T")

FaultKind = Literal["rate_limit", "transient", "unreachable", "auth", "fatal"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    message: str
    # Unix time at which the API said the rate-limit window resets, when it said so.
    reset_at: float | None = None


class Stopped(Exception):
    """Raised inside a wait when the user asked to stop (Ctrl-C, SIGTERM)."""


class Unavailable(SourceError):
    """A server (`scope`; "" = the whole source) failed in a way every later call this run would
    repeat, backoff included: it was unreachable, or the login failed. The job skips its units."""

    def __init__(self, message: str, scope: str = "") -> None:
        super().__init__(message)
        self.scope = scope


# Errors, from sockets up through urllib3, requests and httpx, that mean no connection was made.
_NO_CONNECTION = ("ConnectionRefusedError", "gaierror", "NewConnectionError", "NameResolutionError",
                  "ConnectTimeoutError", "ConnectTimeout", "ConnectError")


def connection_fault(exc: BaseException) -> Fault:
    """The fault of a connection problem: "unreachable" only when no connection was made."""
    kind: FaultKind = "unreachable" if never_connected(exc) else "transient"
    return Fault(kind, f"connection problem ({type(exc).__name__})")


def never_connected(exc: BaseException) -> bool:
    """Whether `exc`, or anything it wraps, says the connection was never made."""
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if type(e).__name__ in _NO_CONNECTION:
            return True
        stack += [e.__cause__, e.__context__, getattr(e, "reason", None),
                  getattr(e, "original_exception", None)]
        stack += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
    return False


def describe_wait(seconds: float, until: float) -> str:
    clock = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S UTC")
    return f"until {clock} ({_duration(seconds)})"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


class RetryPolicy:
    """Retries, backoff and rate-limit waits for one source.

    `notify` receives every user-visible wait ("X rate limit reached ...; waiting until ..."); the
    log gets them only when there is no `notify`. `stop`, when set during a wait, ends the wait
    early with `Stopped`. `down` remembers the servers given up on (scope -> why) until the job
    clears it for the next pass.
    """

    def __init__(
        self,
        source: str,
        classify: Callable[[BaseException], Fault | None],
        *,
        max_attempts: int = 6,
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        max_rate_wait: float = 900.0,
        max_rate_waits: int = 4,
        notify: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.classify = classify
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_rate_wait = max_rate_wait
        self.max_rate_waits = max_rate_waits
        self.notify = notify or log.warning
        self.stop = stop
        self.rng = rng or random.Random()
        self.waited = 0.0  # seconds spent waiting, for the summary
        self.rate_limited = 0  # rate-limit waits, for the summary
        self.down: dict[str, str] = {}

    def call(self, fn: Callable[[], T], what: str, scope: str = "") -> T:
        """Run `fn`, retrying transient faults and waiting out rate limits.

        `scope` names the server `fn` talks to when a source has several (a Mastodon instance);
        once it is down, calls to it fail at once for the rest of the run.
        """
        if scope in self.down:
            raise Unavailable(self.down[scope], scope)
        failures = rate_waits = 0
        while True:
            try:
                return fn()
            except Exception as exc:  # classified below; unknown ones propagate unchanged
                fault = self.classify(exc)
                if fault is None:
                    raise
            if fault.kind == "auth":
                raise AuthError(fault.message)
            if fault.kind == "fatal":
                raise SourceError(f"{self.source} {what}: {fault.message}")
            if fault.kind == "rate_limit":
                rate_waits += 1
                if rate_waits > self.max_rate_waits:
                    raise SourceError(
                        f"{self.source} {what}: still rate limited after {rate_waits - 1} waits")
                self.wait_rate_limit(fault, what, attempt=rate_waits - 1)
                continue
            failures += 1
            if failures >= self.max_attempts:
                message = (f"{self.source} {what} failed {failures} times; last error: "
                           f"{fault.message}")
                if fault.kind == "unreachable":
                    raise self.give_up(message, scope)
                raise SourceError(message)
            delay = self.backoff(failures - 1)
            self.notify(f"{self.source} {what}: {fault.message}; retrying in {_duration(delay)} "
                        f"({failures}/{self.max_attempts - 1})")
            self.sleep(delay)

    def give_up(self, message: str, scope: str = "") -> Unavailable:
        """Mark `scope` down for the rest of the run; returns the error to raise."""
        self.down[scope] = message
        return Unavailable(message, scope)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, to spread clients."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def wait_rate_limit(self, fault: Fault, what: str, attempt: int = 0) -> None:
        """Wait until the announced reset (plus a second), capped; back off when none was given."""
        now = time.time()
        if fault.reset_at is not None:
            seconds = max(1.0, fault.reset_at - now + 1)
        else:
            seconds = min(self.max_rate_wait, 60.0 * 2 ** attempt)
        capped = seconds > self.max_rate_wait
        seconds = min(seconds, self.max_rate_wait)
        note = " - the announced reset is later; capped, will check again" if capped else ""
        message = (f"{self.source} rate limit reached ({what}); waiting "
                   f"{describe_wait(seconds, now + seconds)}{note}")
        self.notify(message)
        self.rate_limited += 1
        self.sleep(seconds)

    def reconnect(self, fault: Fault, attempt: int, what: str) -> None:
        """Wait before reconnecting a dropped stream: until the reset if rate limited, else backoff.

        `attempt` counts drops in a row without data in between; streams reconnect forever.
        """
        if fault.kind == "rate_limit":
            self.wait_rate_limit(fault, what, attempt)
            return
        delay = self.backoff(attempt)
        self.notify(f"{self.source} {what}: {fault.message}; reconnecting in {_duration(delay)}")
        self.sleep(delay)

    def wait_until(self, reset_at: float, what: str) -> None:
        """Pause before a call the API already said would be refused (quota used up)."""
        self.wait_rate_limit(Fault("rate_limit", "no requests left in this window", reset_at), what)

    def sleep(self, seconds: float) -> None:
        """Sleep in slices so a stop request ends the wait within a second."""
        self.waited += seconds
        if self.stop is None:
            time.sleep(seconds)
            return
        remaining = seconds
        while remaining > 0:
            if self.stop.is_set():
                raise Stopped()
            step = min(1.0, remaining)
            time.sleep(step)
            remaining -= step
        if self.stop.is_set():
            raise Stopped()
