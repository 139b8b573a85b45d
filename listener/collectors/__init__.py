"""Collectors: one module per platform, found through the `undertow.collectors` entry points.

    Collector (base.py)     the interface: units(brands) -> fetch(unit, cursor) -> Pages
    registry.py             entry-point lookup (built-ins go through the same door)
    retry.py                every rate limit, retry and backoff decision
    job.py                  collect / listen: commit each page with its cursor
                            (the commands are in listener/cli/collect.py)
    x.py, reddit.py         the built-in sources (tweepy, praw)
"""

from listener.collectors.base import Collector, Page, Unit
from listener.collectors.registry import available, load
from listener.collectors.retry import Fault, RetryPolicy

__all__ = ["Collector", "Fault", "Page", "RetryPolicy", "Unit", "available", "load"]
