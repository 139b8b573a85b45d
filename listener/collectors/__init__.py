"""Collectors: one module per platform, found through the `undertow.collectors` entry points.

    Collector (base.py)     the interface: units(brands) -> fetch(unit, cursor) -> Pages; its
                            settings (`config`) and abilities (Streams, ChecksCompliance)
                            declared on the class
    registry.py             entry-point lookup (built-ins go through the same door), and what
                            the sources declare (settings, abilities)
    retry.py                every rate limit, retry and backoff decision
    job.py                  collect / listen: commit each page with its cursor
                            (the commands are in listener/cli/collect.py)
    x.py, reddit.py, ...    the built-in sources (tweepy, praw, atproto, Mastodon.py, feeds);
                            X's and Reddit's compliance checkers live beside their collectors
"""

from listener.collectors.base import Collector, Page, Unit
from listener.collectors.registry import available, load
from listener.collectors.retry import Fault, RetryPolicy

__all__ = ["Collector", "Fault", "Page", "RetryPolicy", "Unit", "available", "load"]
