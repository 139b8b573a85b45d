"""Every fault an API can throw at a collector is handled here, and only here.

Collectors wrap each API call in `RetryPolicy.call`; a collector's `classify` says what an
exception means (rate limited until when, transient, credentials refused, or fatal) and this
module decides what to do about it:

- rate limited: wait until the reset the API announced (capped, logged, announced to the user);
- transient (5xx, connection reset, truncated body): retry with exponential backoff and jitter;
- credentials refused: raise AuthError, which stops that source;
- anything else the API refused: raise SourceError for that unit of work.

Waiting goes through `time.sleep`, looked up at call time, so tests patch it and run instantly.
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

__all__ = ["Fault", "RetryPolicy", "Stopped", "describe_wait"]

log = logging.getLogger(__name__)
T = TypeVar("T")

FaultKind = Literal["rate_limit", "transient", "auth", "fatal"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    message: str
    # Unix time at which the API said the rate-limit window resets, when it said so.
    reset_at: float | None = None


class Stopped(Exception):
    """Raised inside a wait when the user asked to stop (Ctrl-C, SIGTERM)."""


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

    `notify` receives every user-visible wait ("X rate limit reached ...; waiting until ...").
    `stop`, when set during a wait, ends the wait early with `Stopped`.
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
        self.notify = notify or (lambda message: None)
        self.stop = stop
        self.rng = rng or random.Random()
        self.waited = 0.0  # seconds spent waiting, for the summary
        self.rate_limited = 0  # rate-limit waits, for the summary

    def call(self, fn: Callable[[], T], what: str) -> T:
        """Run `fn`, retrying transient faults and waiting out rate limits."""
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
                raise SourceError(f"{self.source} {what} failed {failures} times; last error: "
                                  f"{fault.message}")
            delay = self.backoff(failures - 1)
            log.warning("%s %s: %s; retry %d/%d in %.1f s", self.source, what, fault.message,
                        failures, self.max_attempts - 1, delay)
            self.notify(f"{self.source} {what}: {fault.message}; retrying in {_duration(delay)}")
            self.sleep(delay)

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
        log.warning(message)
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
        log.warning("%s %s: %s; reconnecting in %.1f s", self.source, what, fault.message, delay)
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
