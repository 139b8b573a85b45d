"""Re-keying a store's author ids (migration 0014): from unkeyed hashes to keyed ids.

Every column `listener.store.personal` lists in `AUTHOR_ID_COLUMNS`, and every author id inside
the JSON copies (`JSON_COLUMNS`, the detector state in `META_JSON_KEYS`), maps through
`listener.ids.keyed`, which needs only the stored id: ids whose author row is gone are re-keyed
too, and the result is what a fresh import under the same key writes.

It runs inside the migration's one transaction, so a crash (or `kill -9`) at any point leaves
the store as it was, at revision 0010 with its old ids, and the next open runs it again from the
start: never a mix of old and new ids. The work is batched so memory stays bounded: old ids go
to a temporary map table in pages of `BATCH`, each table is then re-keyed by one set-based
UPDATE joined to that map (no row is ever mapped twice: the map is checked to share no id
between its old and new sides first), and JSON rows are read in pages.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from listener.ids import AuthorIds
from listener.store import schema
from listener.store.personal import AUTHOR_ID_COLUMNS, JSON_COLUMNS, META_JSON_KEYS
from listener.store.sql import chunks

__all__ = ["BATCH", "MAP_TABLE", "rekey_author_ids"]

BATCH = 20_000
MAP_TABLE = "undertow_author_rekey"
_MIN_ID = 1 << 31  # author ids are 63-bit hashes: a smaller number in JSON is a count, not one
_DIGITS = re.compile(r"(?<!\d)\d{10,19}(?!\d)")

log = logging.getLogger("undertow.rekey")


def _create_map(conn: Connection) -> None:
    temp = "ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {MAP_TABLE}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {MAP_TABLE} (old BIGINT PRIMARY KEY, "
                         f"new BIGINT NOT NULL) {temp}")


def _fill_map(conn: Connection, ids: AuthorIds, batch: int) -> int:
    union = " UNION ".join(f"SELECT {c} AS id FROM {t}" for t, c in AUTHOR_ID_COLUMNS)
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = f"INSERT INTO {MAP_TABLE} (old, new) VALUES ({mark}, {mark})"
    # Streamed (a server-side cursor on PostgreSQL): memory holds one page, whatever the store.
    distinct = conn.exec_driver_sql(f"SELECT id FROM ({union}) u", execution_options={
        "stream_results": True, "max_row_buffer": batch})
    mapped = 0
    for page in distinct.partitions(batch):
        conn.exec_driver_sql(sql, [(r[0], ids.of_unkeyed(r[0])) for r in page])
        mapped += len(page)
        log.info("re-keying author ids: mapped %d", mapped)
    overlap = conn.exec_driver_sql(
        f"SELECT COUNT(*) FROM {MAP_TABLE} a JOIN {MAP_TABLE} b ON a.new = b.old").scalar()
    if overlap:  # about one chance in 2**63 per pair of ids; refused rather than mixed
        raise RuntimeError(f"{overlap} keyed author ids equal unkeyed ones: re-keying would "
                           "map some twice; run again with another UNDERTOW_ID_KEY")
    return mapped


def _rekey_columns(conn: Connection, counts: Counter) -> None:
    """One UPDATE per table, joining the map once per author-id column: a row gets one new
    version however many of its columns name authors (the columns are NOT NULL, and the map
    holds every value they hold)."""
    by_table: dict[str, list[str]] = {}
    for table, column in AUTHOR_ID_COLUMNS:
        by_table.setdefault(table, []).append(column)
    for table, columns in by_table.items():
        sets = ", ".join(f"{c} = m{i}.new" for i, c in enumerate(columns))
        maps = ", ".join(f"{MAP_TABLE} AS m{i}" for i in range(len(columns)))
        joins = " AND ".join(f"{table}.{c} = m{i}.old" for i, c in enumerate(columns))
        n = conn.exec_driver_sql(f"UPDATE {table} SET {sets} FROM {maps} WHERE {joins}").rowcount
        names = ", ".join(f"{table}.{c}" for c in columns)
        for c in columns:
            counts[f"{table}.{c}"] += n
        # Progress on a real store; a new, empty one (every first run) says nothing.
        log.log(logging.INFO if n else logging.DEBUG, "re-keying author ids: %s, %d rows",
                names, n)


def _candidates(value, found: set[int]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value >= _MIN_ID:
            found.add(value)
    elif isinstance(value, str):
        found.update(int(m) for m in _DIGITS.findall(value) if int(m) < 1 << 63)
    elif isinstance(value, list):
        for v in value:
            _candidates(v, found)
    elif isinstance(value, dict):
        for k, v in value.items():
            _candidates(k, found)
            _candidates(v, found)


def _lookup(conn: Connection, candidates: Iterable[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    for chunk in chunks(sorted(candidates)):
        sql = f"SELECT old, new FROM {MAP_TABLE} WHERE old IN ({', '.join([mark] * len(chunk))})"
        found.update((r[0], r[1]) for r in conn.exec_driver_sql(sql, tuple(chunk)))
    return found


def rekey_value(value, mapping: dict[int, int]):
    """`value` with every author id in `mapping` (ints, ids as text, dict keys) replaced."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return mapping.get(value, value)
    if isinstance(value, str):
        def sub(m: re.Match) -> str:
            n = int(m.group(0))
            return str(mapping.get(n, n)) if n < 1 << 63 else m.group(0)

        return _DIGITS.sub(sub, value) if any(c.isdigit() for c in value) else value
    if isinstance(value, list):
        return [rekey_value(v, mapping) for v in value]
    if isinstance(value, dict):
        return {rekey_value(k, mapping): rekey_value(v, mapping) for k, v in value.items()}
    return value


def _rekey_json(conn: Connection, batch: int, counts: Counter) -> None:
    for table_name, column in JSON_COLUMNS:
        table = schema.metadata.tables[table_name]
        pk = list(table.primary_key.columns)[0]
        col = table.c[column]
        after = None
        while True:
            stmt = select(pk, col).order_by(pk).limit(max(1, batch // 100))
            if after is not None:
                stmt = stmt.where(pk > after)
            rows = conn.execute(stmt).all()
            if not rows:
                break
            after = rows[-1][0]
            found: set[int] = set()
            for _, value in rows:
                _candidates(value, found)
            mapping = _lookup(conn, found) if found else {}
            for row_id, value in rows:
                new = rekey_value(value, mapping) if mapping else value
                if new != value:
                    conn.execute(update(table).where(pk == row_id).values({column: new}))
                    counts[f"{table_name}.{column}"] += 1
        done = counts[f"{table_name}.{column}"]
        log.log(logging.INFO if done else logging.DEBUG, "re-keying author ids: %s.%s, %d rows",
                table_name, column, done)
    m = schema.meta
    for key in META_JSON_KEYS:
        raw = conn.execute(select(m.c.value).where(m.c.key == key)).scalar()
        if not raw:
            continue
        value = json.loads(raw)
        found = set()
        _candidates(value, found)
        new = rekey_value(value, _lookup(conn, found))
        if new != value:
            conn.execute(update(m).where(m.c.key == key).values(value=json.dumps(new)))
            counts[f"meta.{key}"] += 1


def rekey_author_ids(conn: Connection, key: bytes, batch: int | None = None) -> Counter:
    """Re-key every stored author id inside the caller's transaction; returns rows per place."""
    batch = batch or BATCH
    ids = AuthorIds(key)
    counts: Counter = Counter()
    _create_map(conn)
    counts["author ids"] = _fill_map(conn, ids, batch)
    _rekey_columns(conn, counts)
    _rekey_json(conn, batch, counts)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {MAP_TABLE}")
    return counts
