"""The store: the only part of Undertow that runs SQL.

`Store.open(url)` creates the engine and applies migrations; jobs call its methods with and get
back plain data (normalised types, dicts, tuples), so the libraries never see a connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, inspect, select, update
from sqlalchemy.exc import DBAPIError

from listener import id_key as id_keys
from listener.errors import ConfigError, NotFoundError
from listener.ids import AuthorIds
from listener.mapping.fit import fit_batch
from listener.post import Batch, utcnow
from listener.privacy import drop_erased, pseudonymise
from listener.query import Query
from listener.store import accounts as owned_accounts
from listener.store import db, rollup, schema, sql
from listener.store.locks import tag_lock
from listener.store.writer import WriteResult, write_batch

__all__ = ["Brand", "Privacy", "Store", "WriteResult"]

_RETAG_PAGE = 5000
RACE_RETRIES = 3  # a batch chosen as a deadlock's victim is written again this many times


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig or exc).strip().splitlines()[0][:160]


@dataclass(frozen=True)
class Privacy:
    """Opt-in pseudonymisation; the key comes from the environment, never the database."""

    pseudonymise: bool = False
    threshold: int = 5000
    key: bytes = b""


@dataclass(frozen=True)
class Brand:
    id: int
    name: str
    query: str
    competitor_group: str | None
    settings: dict[str, Any]


ID_KEY_CHECK = "id_key_check"  # the key's fingerprint (`listener.ids.key_check`), never the key
COMPACT_PENDING = "compact_pending"  # a migration freed pages that hold personal data


class Store:
    def __init__(self, engine: Engine, privacy: Privacy | None = None,
                 id_key: bytes | None = None) -> None:
        self.engine = engine
        self.privacy = privacy or Privacy()
        self._author_ids = AuthorIds(id_key) if id_key else None
        if self.privacy.pseudonymise and not self.privacy.key:
            raise ConfigError("Pseudonymisation needs a key: set UNDERTOW_PSEUDONYM_KEY")
        self._matcher: tuple[tuple, Callable[[str], list[int]]] | None = None
        self._erased: dict | None = None
        self._erased_terms = False
        self._known_authors: set[int] = set()
        self._owned: tuple[dict, dict[int, int]] | None = None
        self._has_rollup: bool | None = None

    @classmethod
    def open(cls, url: str, privacy: Privacy | None = None, id_key: bytes | None = None) -> Store:
        """Open and migrate; `id_key` defaults to `listener.id_key.load()` (env or key file)."""
        key = id_key if id_key is not None else id_keys.load()
        engine = db.create(url)
        try:
            db.migrate(engine, key)
        except Exception as exc:
            engine.dispose()
            # The driver's own first line says what failed; SQLAlchemy's wrapper adds the SQL
            # and a link, which bury it.
            cause = getattr(exc, "orig", None) or exc
            reason = (str(cause).strip().splitlines() or [""])[0]
            raise ConfigError(
                f"Cannot open the database ({type(cause).__name__}): {reason} "
                "(check UNDERTOW_DATABASE_URL or --database)"
            ) from exc
        store = cls(engine, privacy, key)
        try:
            store._check_id_key()
        except ConfigError:
            engine.dispose()
            raise
        if store.get_meta(COMPACT_PENDING):
            store._compact_after_migration()
        return store

    def _compact_after_migration(self) -> None:
        """Overwrite the pages a migration freed (0014: the unkeyed ids), once; an open that
        is interrupted here does it again next time."""
        from listener.store.erasure import compact

        compact(self)
        with self.engine.begin() as conn:
            conn.execute(delete(schema.meta).where(schema.meta.c.key == COMPACT_PENDING))

    def _check_id_key(self) -> None:
        """Refuse a key other than the one the stored ids were made with: mixed ids would split
        every returning author in two and break erasure."""
        check = self.author_ids.check
        stored = self.get_meta(ID_KEY_CHECK)
        if stored is None:
            self.set_meta({ID_KEY_CHECK: check})
        elif stored != check:
            raise ConfigError(
                "This database's author ids were made with another author-id key: set "
                "UNDERTOW_ID_KEY or UNDERTOW_ID_KEY_FILE to that key (see "
                "docs/data-protection.md, 'The author-id key')")

    @property
    def author_ids(self) -> AuthorIds:
        """(platform, native id) -> the author's row id, keyed (`listener.ids`)."""
        if self._author_ids is None:
            self._author_ids = AuthorIds(id_keys.load())
        return self._author_ids

    def author_id(self, platform: str, native_id: str) -> int:
        return self.author_ids(platform, native_id)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------------

    def erasure_key(self) -> bytes:
        """The key of erasure records: the pseudonym key if set, else one derived from the
        author-id key, so the database alone cannot test a guessed handle against them.

        Stores that recorded erasures before migration 0014 keep using the per-store salt those
        records were made with (`erasure_salt` in meta): they cannot be re-hashed without the
        erased ids, which are gone (docs/data-protection.md says so).
        """
        if self.privacy.key:
            return self.privacy.key
        salt = self.get_meta("erasure_salt")
        if salt is not None:
            return salt.encode()
        return self.author_ids.derive(b"erasure records")

    def forget_erasures(self) -> None:
        """Drop caches that deletions make stale (erasure list, authors known to be stored)."""
        self._erased = None
        self._known_authors = set()

    def _erasures(self) -> dict:
        if self._erased is None:
            e = schema.erasures
            with self.engine.connect() as conn:
                rows = conn.execute(select(e)).all()
            self._erased = {r.subject_hash: sql.as_utc(r.erased_at) for r in rows}
            self._erased_terms = any(r.kind == "term" for r in rows)
        return self._erased

    def _prepare(self, batch: Batch) -> Batch:
        erased = self._erasures()
        if erased:
            batch, _ = drop_erased(batch, erased, self.erasure_key(), self._erased_terms)
        if self.privacy.pseudonymise:
            batch = pseudonymise(batch, self.privacy.key, self.privacy.threshold)
        return batch

    def write(self, batch: Batch) -> WriteResult:
        """Upsert a batch in one transaction, tagging posts with the brands they match.

        Every source comes through here: records the store cannot hold are left out and listed
        in the result's `skipped` (see `listener.mapping.fit`), and should the database still
        refuse the batch, its posts are written one by one so only the refused ones are lost.
        """
        return self._write(batch)

    def _write(self, batch: Batch, cursor: tuple[str, str, str] | None = None) -> WriteResult:
        batch, skipped = fit_batch(batch)
        if not (batch.posts or batch.authors or batch.interactions) and cursor is None:
            return WriteResult(skipped=skipped)
        batch = self._prepare(batch)
        for attempt in range(RACE_RETRIES + 1):
            try:
                result = self._write_once(batch, cursor)
                break
            except DBAPIError as exc:
                if db.unavailable(exc):  # away, not refusing: the caller retries the whole batch
                    raise
                if db.lost_race(exc) and attempt < RACE_RETRIES:
                    continue  # chosen as a deadlock's victim: the same batch again, whole
                result = self._write_each(batch, cursor)
                break
        result.skipped = skipped + result.skipped
        if batch.posts:
            self.compact_rollup()
        return result

    def compact_rollup(self) -> None:
        """Fold the mention counts' pending deltas in (`listener.store.rollup`); after writes.

        A store held below migration 0018 (a test filling an old schema) has no rollup yet."""
        if self._has_rollup is None:
            self._has_rollup = inspect(self.engine).has_table("mention_deltas")
        if self._has_rollup:
            rollup.compact(self.engine)

    def _write_once(self, batch: Batch, cursor: tuple[str, str, str] | None) -> WriteResult:
        owned = self._owned_in(batch) if len(batch) or batch.authors else {}
        with self.engine.begin() as conn:
            tag_lock(conn)
            result = write_batch(conn, batch, None, self._known_authors, owned,
                                 matcher_for=self.brand_matcher, author_id=self.author_ids) \
                if (batch.posts or batch.authors or batch.interactions) else WriteResult()
            if cursor is not None:
                self.set_cursor(*cursor, conn)
        self._remember_authors(result)
        return result

    def _write_each(self, batch: Batch, cursor: tuple[str, str, str] | None) -> WriteResult:
        """The database refused a batch: write each post with what hangs on it, alone."""
        total = WriteResult()
        by_post: dict[tuple[str, str], Batch] = {}
        rest = Batch()
        for p in batch.posts:
            by_post.setdefault((p.platform, p.native_id), Batch()).posts.append(p)
        for i in batch.interactions:
            owner = by_post.get((i.platform, i.source_post_native_id or ""))
            (owner or rest).interactions.append(i)
        rest.authors = list(batch.authors)
        for key, part in [*by_post.items(), (None, rest)]:
            try:
                total.add(self._write_once(part, None))
            except DBAPIError as exc:
                if db.unavailable(exc):
                    raise
                label = f"post {key[1][:80]}" if key else "authors and interactions"
                total.skipped.append(f"{label}: the database refused it ({_reason(exc)})")
                if key is None:  # authors one by one too: one bad profile loses only itself
                    for author in part.authors:
                        try:
                            total.add(self._write_once(Batch(authors=[author]), None))
                        except DBAPIError as exc2:
                            if db.unavailable(exc2):
                                raise
                            total.skipped.append(f"author {author.native_id[:80]}: the database "
                                                 f"refused it ({_reason(exc2)})")
        if cursor is not None:
            with self.engine.begin() as conn:
                self.set_cursor(*cursor, conn)
        return total

    def _remember_authors(self, result: WriteResult) -> None:
        """Authors of a committed batch are stored: later batches need not re-send their stubs."""
        if len(self._known_authors) > 2_000_000:
            self._known_authors = set()
        self._known_authors.update(result.author_ids)

    # -- brands ----------------------------------------------------------------------------

    def brands(self) -> list[Brand]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.brands).order_by(schema.brands.c.name)).all()
        return [Brand(r.id, r.name, r.query, r.competitor_group, r.settings or {}) for r in rows]

    def brand(self, name: str) -> Brand:
        for b in self.brands():
            if b.name.lower() == name.lower():
                return b
        raise NotFoundError(f"No brand named {name!r} (see `undertow brand list`)")

    def add_brand(
        self, name: str, query: str, competitor_group: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> tuple[Brand, int]:
        """Create or update a brand, then (re)tag every stored post; returns (brand, posts matched).

        The brand row and its re-tag are one transaction under the exclusive tag lock, so an
        import running meanwhile loses no tag (`listener.store.locks`); two `brand add` of the
        same name at once both succeed (the row is inserted-or-kept, then updated).
        """
        Query(query)  # fail before writing anything
        t = schema.brands
        values = dict(query=query, competitor_group=competitor_group, settings=settings or {})
        with self.engine.begin() as conn:
            tag_lock(conn, exclusive=True)
            sql.insert_ignore(conn, t, [dict(name=name, created_at=utcnow(), **values)])
            conn.execute(update(t).where(t.c.name == name).values(**values))
            row = conn.execute(select(t).where(t.c.name == name)).one()
            brand = Brand(row.id, row.name, row.query, row.competitor_group, row.settings or {})
            matched = self._retag_in(conn, brand)
        self._matcher = None
        self.compact_rollup()
        return brand, matched

    def edit_brand(self, name: str, query: str | None = None, competitor_group: str | None = None,
                   accounts: Iterable[str] | None = None) -> tuple[Brand, int]:
        """Change only what is given (an empty group clears it); returns (brand, posts matched)."""
        brand = self.brand(name)
        if query is not None:
            Query(query)
        if query is not None or competitor_group is not None:
            with self.engine.begin() as conn:
                tag_lock(conn, exclusive=True)
                conn.execute(update(schema.brands).where(schema.brands.c.id == brand.id).values(
                    query=brand.query if query is None else query,
                    competitor_group=(brand.competitor_group if competitor_group is None
                                      else competitor_group or None)))
                if query is not None and query != brand.query:
                    self._retag_in(conn, Brand(brand.id, brand.name, query,
                                               brand.competitor_group, brand.settings))
            self._matcher = None
        if accounts is not None:
            self.set_accounts(brand, accounts)
        changed = self.brand(brand.name)
        self.compact_rollup()
        return changed, self.brand_post_count(changed)

    def brand_post_count(self, brand: Brand) -> int:
        pb = schema.post_brands
        with self.engine.connect() as conn:
            stmt = select(func.count()).select_from(pb).where(pb.c.brand_id == brand.id)
            return int(conn.execute(stmt).scalar() or 0)

    def remove_brand(self, name: str) -> None:
        brand = self.brand(name)
        with self.engine.begin() as conn:
            tag_lock(conn, exclusive=True)
            conn.execute(delete(schema.post_brands).where(schema.post_brands.c.brand_id == brand.id))
            conn.execute(delete(schema.brands).where(schema.brands.c.id == brand.id))
        self._matcher = None
        self.compact_rollup()

    # -- brands' own accounts --------------------------------------------------------------

    def accounts(self) -> dict[tuple[str, str], int]:
        """Every brand's own accounts: (platform, handle) -> brand id."""
        with self.engine.connect() as conn:
            return owned_accounts.read_accounts(conn)

    def brand_accounts(self, brand: Brand) -> list[str]:
        return sorted(f"{p}:{h}" for (p, h), b in self.accounts().items() if b == brand.id)

    def owned_authors(self) -> dict[int, int]:
        """Stored author id -> the brand whose own account it is (cached while accounts stay)."""
        accounts = self.accounts()
        if self._owned is None or self._owned[0] != accounts:
            with self.engine.connect() as conn:
                self._owned = (accounts, owned_accounts.owned_author_ids(conn, accounts))
        return self._owned[1]

    def _owned_in(self, batch: Batch) -> dict[int, int]:
        """Owned authors as far as this batch can tell (a new owned author arrives with a handle)."""
        owned = self.owned_authors()
        accounts = self._owned[0] if self._owned else {}
        if accounts:
            for a in batch.authors:
                brand = owned_accounts.author_matches(a, accounts)
                if brand is not None:
                    owned[self.author_ids(a.platform, a.native_id)] = brand
        return owned

    def set_accounts(self, brand: Brand, accounts: Iterable[str]) -> int:
        """Make these the brand's own accounts and re-tag the posts of every author affected.

        Returns the number of stored posts now counted as the brand's own voice.
        """
        parsed = [owned_accounts.parse_account(a) for a in accounts]
        before = set(self.owned_authors())
        with self.engine.begin() as conn:
            owned_accounts.replace_accounts(conn, brand.id, parsed)
        self._owned = None
        after = self.owned_authors()
        with self.engine.begin() as conn:
            tag_lock(conn, exclusive=True)
            match = self.brand_matcher(conn)
            owned_accounts.retag_authors(conn, before | set(after), set(after), match)
            mine = owned_accounts.posts_by(conn, [a for a, b in after.items() if b == brand.id])
        self.compact_rollup()
        return mine

    def brand_matcher(self, conn=None) -> Callable[[str], list[int]] | None:
        """A function text -> ids of matching brands.

        The brands are read on every call (a tiny table), so a brand added by another process,
        e.g. `undertow brand add` while `undertow listen` runs, tags the very next batch; the
        compiled queries are reused while the brands stay the same.
        """
        if conn is None:
            with self.engine.connect() as own:
                return self.brand_matcher(own)
        b = schema.brands
        key = tuple(tuple(r) for r in conn.execute(select(b.c.id, b.c.query).order_by(b.c.name)))
        if not key:
            return None
        if self._matcher is None or self._matcher[0] != key:
            compiled = [(bid, Query(query)) for bid, query in key]

            def match(text: str) -> list[int]:
                low = text.lower()
                return [bid for bid, q in compiled if q.root.matches(low)]

            self._matcher = (key, match)
        return self._matcher[1]

    def retag(self, brand: Brand) -> int:
        """Re-evaluate one brand's query over every stored post; returns the posts it matches.

        Safe beside running imports (exclusive tag lock) and idempotent: `undertow brand retag`
        repairs a store whose tags a crash or an older version left incomplete.
        """
        with self.engine.begin() as conn:
            tag_lock(conn, exclusive=True)
            matched = self._retag_in(conn, brand)
        self.compact_rollup()
        return matched

    def _retag_in(self, conn, brand: Brand) -> int:
        """`retag` inside the caller's transaction, which holds the exclusive tag lock.

        Posts are read in primary-key pages (keyset, so each page costs the same); the tags are
        replaced in the same transaction, so readers see the old set or the new one.
        """
        q = Query(brand.query)
        p, pb = schema.posts, schema.post_brands
        matched, last_id = 0, None
        owned = self.owned_authors()
        conn.execute(delete(pb).where(pb.c.brand_id == brand.id))
        while True:
            stmt = (select(p.c.id, p.c.text, p.c.created_at, p.c.author_id)
                    .order_by(p.c.id).limit(_RETAG_PAGE))
            if last_id is not None:
                stmt = stmt.where(p.c.id > last_id)
            rows = conn.execute(stmt).all()
            if not rows:
                break
            last_id = rows[-1].id
            hits = [
                {"post_id": r.id, "brand_id": brand.id, "created_at": r.created_at}
                for r in rows if r.author_id not in owned and q.root.matches(r.text.lower())
            ]
            # A writer that held the shared lock before us may have tagged some already.
            sql.insert_ignore(conn, pb, hits)
            matched += len(hits)
        return matched

    # -- cursors and meta ------------------------------------------------------------------

    def get_cursor(self, collector: str, query_key: str) -> str | None:
        c = schema.cursors
        with self.engine.connect() as conn:
            return conn.execute(
                select(c.c.value).where(c.c.collector == collector, c.c.query_key == query_key)
            ).scalar()

    def set_cursor(self, collector: str, query_key: str, value: str, conn=None) -> None:
        """Advance a cursor; pass the batch's connection so it commits with the posts it covers."""
        c = schema.cursors
        if conn is None:
            with self.engine.begin() as own:
                return self.set_cursor(collector, query_key, value, own)
        conn.execute(delete(c).where(c.c.collector == collector, c.c.query_key == query_key))
        conn.execute(insert(c).values(collector=collector, query_key=query_key, value=value,
                                      updated_at=utcnow()))

    def write_with_cursor(self, batch: Batch, collector: str, query_key: str, value: str) -> WriteResult:
        """Commit a batch and its cursor together: a crash never advances past unsaved posts."""
        return self._write(batch, (collector, query_key, value))

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).scalar()

    def set_meta(self, items: dict[str, str]) -> None:
        """Upsert: two processes setting the same key at once both succeed, the last one wins."""
        with self.engine.begin() as conn:
            sql.upsert(conn, schema.meta, [{"key": k, "value": v} for k, v in items.items()],
                       ("key",))

    # -- reading ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Counts for `undertow status`: totals, per platform, per brand."""
        s = schema
        with self.engine.connect() as conn:
            def count(table) -> int:
                return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)

            scored = conn.execute(
                select(func.count(func.distinct(s.sentiment_scores.c.post_id)))
            ).scalar()
            per_platform = dict(conn.execute(
                select(s.posts.c.platform, func.count()).group_by(s.posts.c.platform)
            ).all())
            per_brand = dict(conn.execute(
                select(s.brands.c.name, func.count(s.post_brands.c.post_id))
                .select_from(s.brands.outerjoin(s.post_brands))
                .group_by(s.brands.c.name)
            ).all())
            by_status = dict(conn.execute(
                select(s.alerts.c.status, func.count()).group_by(s.alerts.c.status)).all())
            open_alerts = sum(v for k, v in by_status.items() if k in ("open", "acknowledged"))
            return {
                "posts": count(s.posts),
                "authors": count(s.authors),
                "interactions": count(s.interactions),
                "scored": int(scored or 0),
                "alerts": int(sum(v for k, v in by_status.items() if k != "watch")),
                "open_alerts": int(open_alerts),
                "watch_items": int(by_status.get("watch", 0)),
                "brands": count(s.brands),
                "per_platform": {k: int(v) for k, v in per_platform.items()},
                "per_brand": {k: int(v) for k, v in per_brand.items()},
            }
