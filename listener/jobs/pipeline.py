"""The stages `undertow demo` runs after loading data, in data-flow order.

Each stage is `stage(store, settings, echo)`; a stage lands here when its job exists.
"""

from __future__ import annotations

from collections.abc import Callable

from listener.jobs import score

Stage = Callable[..., None]

STAGES: list[Stage] = [score.stage]
