"""The one interface every collector implements.

A collector turns brands into units of work (one per query, subreddit, feed...), each with a
cursor key, and fetches a unit page by page. It never touches the store: it yields `Page`s, each
carrying the cursor value that is true once that page is saved, and the job commits page and
cursor in one transaction. So a collector is testable without a database, and "the cursor never
runs ahead of the saved posts" is enforced in one place (listener.collectors.job).

A collector declares on its class what the rest of Undertow builds from the registry: its
settings (`config`: listener.settings reads them, the docs list them) and, by subclassing them,
its optional abilities: `Streams` (`undertow listen --stream`) and `ChecksCompliance`
(`undertow compliance`).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self

from listener.collectors.retry import Fault, RetryPolicy
from listener.mapping.report import MapReport
from listener.post import Batch
from listener.settings import Setting, Settings, declare
from listener.store import Brand

if TYPE_CHECKING:
    from listener.store.compliance import StoredPost

__all__ = ["KEEP", "NOT_AN_ID", "NO_ANSWER", "Checker", "ChecksCompliance", "Collector", "Page",
           "Streams", "Unit", "Verdict"]


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


class SweepState:
    """Base of a frozen dataclass cursor kept as JSON (X, Bluesky, Mastodon, Reddit): fields at
    their empty default are left out, so a cursor written with fewer fields still loads."""

    def dump(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v}, sort_keys=True)

    @classmethod
    def load(cls, value: str | None) -> Self:
        return cls(**json.loads(value)) if value else cls()


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
    # The pass stopped at its page cap with the sweep unfinished: the source has more to read
    # now, so `listen` polls it again soon instead of after its interval.
    more: bool = False


class Collector(ABC):
    """A source of posts. Register it under the `undertow.collectors` entry-point group."""

    #: Registry name and `--platform` value, e.g. "x".
    name: ClassVar[str]
    #: Name for people, e.g. "X".
    title: ClassVar[str]
    #: Its settings, each read from UNDERTOW_<NAME> into `Settings.<name>`.
    config: ClassVar[tuple[Setting, ...]] = ()
    #: The environment variables of its required settings (from `config`), for messages.
    env_vars: ClassVar[tuple[str, ...]] = ()
    #: What to check when its server cannot be reached, for the message that skips it.
    check_when_down: ClassVar[str] = "the network connection"
    #: Seconds between passes under `undertow listen`.
    default_interval: ClassVar[float] = 900.0
    #: Every API call goes through it (set by `from_settings`); the job reads its wait totals.
    policy: RetryPolicy

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.env_vars = tuple(s.env for s in cls.config if s.required)
        declare(cls.config)

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


# -- optional abilities: a collector has one by subclassing it ----------------------------------

class Streams(ABC):
    """A live stream besides polling (`undertow listen --stream`)."""

    @abstractmethod
    def stream(self, brands: Sequence[Brand], stop: threading.Event,
               emit: Callable[[Page], None]) -> None:
        """Push pages to `emit` as they arrive until `stop` is set."""


@dataclass(frozen=True)
class Verdict:
    """What a compliance check decided about one stored post."""

    action: Literal["keep", "remove", "unlink"]
    # Why: the report groups by it; empty for a plain "still there".
    reason: str = ""
    # For "unlink": the payload the platform returns now, stored in place of the old one.
    fresh: dict[str, Any] | None = None


KEEP = Verdict("keep")
NO_ANSWER = "not answered (asked again next sweep)"
NOT_AN_ID = "not a platform id (simulated or imported): not checked"


class Checker(Protocol):
    """Asks the platform about a batch of stored posts (one API call, through `policy`)."""

    platform: str
    title: str
    policy: RetryPolicy

    def check(self, posts: Sequence[StoredPost]) -> dict[int, Verdict]: ...


class ChecksCompliance(ABC):
    """The platform's terms require removing what it says is gone (`undertow compliance`)."""

    @abstractmethod
    def compliance_checker(self, countries: Iterable[str] = ()) -> Checker:
        """A checker that asks through this collector's client and retry policy."""
