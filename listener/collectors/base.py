"""The one interface every collector implements.

A collector turns brands into units of work (one per query, subreddit, feed...), each with a
cursor key, and fetches a unit page by page. It never touches the store: it yields `Page`s, each
carrying the cursor value that is true once that page is saved, and the job commits page and
cursor in one transaction. So a collector is testable without a database, and "the cursor never
runs ahead of the saved posts" is enforced in one place (listener.collectors.job).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from listener.collectors.retry import Fault, RetryPolicy
from listener.mapping.report import MapReport
from listener.post import Batch
from listener.settings import Settings
from listener.store import Brand

__all__ = ["Collector", "Page", "Unit"]


@dataclass(frozen=True)
class Unit:
    """One thing to collect: `key` names its cursor and must stay stable across runs.

    `service` names the server it talks to when a source has several (a Mastodon instance, a
    feed's site), so one that is down skips only its own units; "" is the whole source.
    """

    key: str
    label: str
    brand: str | None = None
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    service: str = field(default="", compare=False)


@dataclass
class Page:
    batch: Batch
    report: MapReport = field(default_factory=MapReport)
    # The cursor value that holds once this page is committed; None: nothing to remember.
    cursor: str | None = None
    # Items the API returned in this page (before mapping), for progress lines.
    fetched: int = 0
    # Brands the source itself says this page matched (X stream rule tags).
    brands: tuple[str, ...] = ()


class Collector(ABC):
    """A source of posts. Register it under the `undertow.collectors` entry-point group."""

    #: Registry name and `--platform` value, e.g. "x".
    name: ClassVar[str]
    #: Name for people, e.g. "X".
    title: ClassVar[str]
    #: The environment variables that hold its credentials, for messages and docs.
    env_vars: ClassVar[tuple[str, ...]] = ()
    #: What to check when its server cannot be reached, for the message that skips it.
    check_when_down: ClassVar[str] = "the network connection"
    #: Seconds between passes under `undertow listen`.
    default_interval: ClassVar[float] = 900.0
    #: Whether `stream` is implemented.
    can_stream: ClassVar[bool] = False
    #: Every API call goes through it (set by `from_settings`); the job reads its wait totals.
    policy: RetryPolicy

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy) -> Collector:
        """Build from settings; a missing credential is a ConfigError naming its env var."""

    @staticmethod
    @abstractmethod
    def classify(exc: BaseException) -> Fault | None:
        """What an exception of this source's client library means (None: not an API fault)."""

    @abstractmethod
    def units(self, brands: Sequence[Brand], *, brand_filter: bool = False) -> list[Unit]:
        """The units of one pass. With `brand_filter`, only brand units (no watched sources)."""

    @abstractmethod
    def fetch(self, unit: Unit, cursor: str | None) -> Iterator[Page]:
        """Fetch what is new since `cursor`, newest page first; each page carries its cursor."""

    def stream(self, brands: Sequence[Brand], stop: threading.Event,
               emit: Callable[[Page], None]) -> None:
        """Push pages to `emit` as they arrive until `stop` is set (only when `can_stream`)."""
        raise NotImplementedError(f"{self.title} has no live stream")
