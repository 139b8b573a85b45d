"""Where the store keeps who someone is: the one list that erasure and the id re-keying read.

A table that stores an author id, a handle or a person's words adds its columns here (a test
fails on a column named like "author" or "handle" that is missing). `AUTHOR_ID_COLUMNS` hold an
author's row id (keyed: `listener.ids`); `HANDLE_COLUMNS` hold a handle or a native
account id in clear; `JSON_COLUMNS` hold JSON copies (alert evidence, saved runs) in which
author ids, handles, post texts and URLs can appear at any depth.
"""

from __future__ import annotations

__all__ = ["AUTHOR_ID_COLUMNS", "HANDLE_COLUMNS", "JSON_COLUMNS", "META_JSON_KEYS", "NOT_PERSONAL"]

AUTHOR_ID_COLUMNS: tuple[tuple[str, str], ...] = (
    ("authors", "id"),
    ("posts", "author_id"),
    ("interactions", "source_author_id"),
    ("interactions", "target_author_id"),
    ("influence_scores", "author_id"),
)

HANDLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("authors", "native_id"),
    ("authors", "handle"),
    ("authors", "display_name"),
)

JSON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("alerts", "evidence"),
    ("alerts", "title"),
    ("influence_runs", "params"),
)

# `meta` values that are JSON copies naming people: the detector's state (author and post ids),
# the coordination flag's clusters (author ids), the demo's facts (the story post's text).
META_JSON_KEYS: tuple[str, ...] = ("detect_state", "coordination", "demo_facts")

# Columns named like a person that are not one: a brand's own account is the brand's voice.
NOT_PERSONAL: tuple[tuple[str, str], ...] = (
    ("brand_accounts", "handle"),
)
