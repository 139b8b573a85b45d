"""Where the bundled sentiment model lives (torch-free, so any part may name it cheaply)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_MODEL_DIR"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "undertow-minilm-sent"
