"""Exports of the Posts page's whole filtered set: CSV and Parquet, written chunk by chunk.

Post text is untrusted and spreadsheets run formulas: a CSV cell that starts with = + - @ (or a
tab / carriage return) is prefixed with an apostrophe, as OWASP advises, so opening the export
in Excel or LibreOffice cannot run anything. Parquet keeps values exactly (no spreadsheet opens
it as formulas).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ["id", "created_at", "platform", "brands", "handle", "author_id", "followers", "text",
           "label", "negative", "positive", "gold_label", "likes", "reposts", "replies", "quotes",
           "url"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell a spreadsheet will show as text, never evaluate."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _shape(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reindex(columns=COLUMNS)
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True)
    for col in ("id", "author_id", "followers", "likes", "reposts", "replies", "quotes"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for col in ("negative", "positive"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Float64")
    for col in ("platform", "brands", "handle", "text", "label", "gold_label", "url"):
        out[col] = out[col].astype("string")
    return out


def to_csv(frames: Iterable[pd.DataFrame]) -> bytes:
    """UTF-8 CSV with a header, one chunk at a time, formula prefixes neutralised."""
    buf = io.StringIO()
    header = True
    for df in frames:
        out = _shape(df)
        for col in out.select_dtypes(include=["string", "object"]).columns:
            out[col] = out[col].map(neutralise, na_action="ignore")
        out.to_csv(buf, index=False, header=header, date_format="%Y-%m-%dT%H:%M:%SZ")
        header = False
    if header:
        buf.write(",".join(COLUMNS) + "\n")
    return buf.getvalue().encode("utf-8")


def to_parquet(frames: Iterable[pd.DataFrame]) -> bytes:
    """Parquet with one row group per chunk (typed columns, times in UTC)."""
    sink = io.BytesIO()
    writer = None
    schema = None
    for df in frames:
        table = pa.Table.from_pandas(_shape(df), preserve_index=False)
        if writer is None:
            schema = table.schema
            writer = pq.ParquetWriter(sink, schema)
        writer.write_table(table.cast(schema))
    if writer is None:
        writer = pq.ParquetWriter(sink, pa.Table.from_pandas(
            _shape(pd.DataFrame(columns=COLUMNS)), preserve_index=False).schema)
    writer.close()
    return sink.getvalue()


__all__ = ["COLUMNS", "neutralise", "to_csv", "to_parquet"]
