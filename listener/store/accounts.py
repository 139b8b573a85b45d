"""Brands' own accounts: which authors speak for a brand, so their posts are never its mentions.

An account is `platform:handle` (`x:AskUnited`, `reddit:unitedairlines`,
`mastodon:support@mastodon.social`); it matches the stored authors of that platform whose handle
is that handle in any case (importers that know authors only by handle key them "@handle",
which matches too). Posts by an owned account are stored and shown but get no brand tags, so
nothing that counts mentions or sentiment (detection, the overview, share of voice, themes,
daily aggregates) ever counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Connection, delete, func, insert, or_, select

from listener.errors import ConfigError
from listener.post import Author
from listener.store import schema
from listener.store.sql import chunks

__all__ = ["Account", "author_matches", "owned_author_ids", "parse_account", "posts_by",
           "read_accounts", "replace_accounts", "retag_authors"]

Account = tuple[str, str]  # (platform, handle): lower case, no "@"
_ACCOUNT = re.compile(r"^([a-z][a-z0-9_-]{0,31}):@?([^\s:@][^\s]{0,255})$", re.IGNORECASE)


def parse_account(value: str) -> Account:
    """`x:AskUnited` or `x:@AskUnited` -> ("x", "askunited"); anything else is a clear error."""
    m = _ACCOUNT.match(value.strip())
    if not m:
        raise ConfigError(f"Bad account {value!r}: use PLATFORM:HANDLE, e.g. x:AskUnited")
    return m.group(1).lower(), m.group(2).lower()


def read_accounts(conn: Connection) -> dict[Account, int]:
    """Every owned account -> its brand id."""
    a = schema.brand_accounts
    return {(r.platform, r.handle): r.brand_id for r in conn.execute(select(a))}


def replace_accounts(conn: Connection, brand_id: int, accounts: Iterable[Account]) -> None:
    """Make `accounts` the brand's whole list; an account another brand owns is an error."""
    a = schema.brand_accounts
    wanted = list(dict.fromkeys(accounts))
    taken = {k: v for k, v in read_accounts(conn).items() if k in wanted and v != brand_id}
    if taken:
        names = dict(conn.execute(select(schema.brands.c.id, schema.brands.c.name)).all())
        (platform, handle), other = next(iter(taken.items()))
        raise ConfigError(f"{platform}:{handle} already belongs to brand {names.get(other)!r}: "
                          "remove it there first (undertow brand edit NAME --account ...)")
    conn.execute(delete(a).where(a.c.brand_id == brand_id))
    if wanted:
        conn.execute(insert(a), [{"platform": p, "handle": h, "brand_id": brand_id}
                                 for p, h in wanted])


def author_matches(author: Author, accounts: dict[Account, int]) -> int | None:
    """The brand id owning this (in-batch) author, if any."""
    for key in (author.handle, author.native_id.removeprefix("@") if author.native_id else None):
        if key:
            brand = accounts.get((author.platform, key.lower().removeprefix("@")))
            if brand is not None:
                return brand
    return None


def owned_author_ids(conn: Connection, accounts: dict[Account, int]) -> dict[int, int]:
    """Stored author id -> owning brand id, for every stored author an account matches."""
    if not accounts:
        return {}
    t = schema.authors
    found: dict[int, int] = {}
    by_platform: dict[str, dict[str, int]] = {}
    for (platform, handle), brand in accounts.items():
        by_platform.setdefault(platform, {})[handle] = brand
    for platform, handles in by_platform.items():
        names = list(handles)
        keys = names + ["@" + h for h in names]
        rows = conn.execute(select(t.c.id, t.c.handle, t.c.native_id).where(
            t.c.platform == platform,
            or_(func.lower(t.c.handle).in_(names), func.lower(t.c.native_id).in_(keys))))
        for r in rows:
            for key in (r.handle, r.native_id):
                brand = handles.get((key or "").lower().removeprefix("@"))
                if brand is not None:
                    found[r.id] = brand
                    break
    return found


def retag_authors(conn: Connection, authors: Iterable[int], owned: set[int], match) -> None:
    """Drop the brand tags of these authors' posts, then tag again those not owned now."""
    p, pb = schema.posts, schema.post_brands
    for chunk in chunks(sorted(authors)):
        rows = conn.execute(select(p.c.id, p.c.text, p.c.created_at, p.c.author_id)
                            .where(p.c.author_id.in_(chunk))).all()
        for ids in chunks(r.id for r in rows):
            conn.execute(delete(pb).where(pb.c.post_id.in_(ids)))
        tags = [{"post_id": r.id, "brand_id": b, "created_at": r.created_at}
                for r in rows if match is not None and r.author_id not in owned
                for b in match(r.text)]
        if tags:
            conn.execute(insert(pb), tags)


def posts_by(conn: Connection, authors: Iterable[int]) -> int:
    """How many stored posts these authors wrote."""
    p = schema.posts
    return sum(int(conn.execute(select(func.count()).select_from(p).where(
        p.c.author_id.in_(chunk))).scalar() or 0) for chunk in chunks(sorted(authors)))
