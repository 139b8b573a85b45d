"""Reads for the coordination flag: who amplified some posts (the SQL `listener.jobs.coordination`
needs beside `listener.store.influence.edge_columns`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from listener.store import Store, schema

AMPLIFYING_KINDS = ("repost", "quote")


def amplifiers_of(store: Store, post_ids: Sequence[int], chunk: int = 500) -> list[int]:
    """One source author id per repost or quote of the posts."""
    i = schema.interactions
    out: list[int] = []
    ids = [int(p) for p in post_ids]
    with store.engine.connect() as conn:
        for start in range(0, len(ids), chunk):
            out += [r[0] for r in conn.execute(
                select(i.c.source_author_id).where(i.c.target_post_id.in_(ids[start:start + chunk]),
                                                   i.c.kind.in_(AMPLIFYING_KINDS)))]
    return out
