"""Every column that can name a person is in the one list erasure and re-keying read."""

from sqlalchemy import inspect

from listener.store.personal import AUTHOR_ID_COLUMNS, HANDLE_COLUMNS, JSON_COLUMNS, NOT_PERSONAL

LISTED = set(AUTHOR_ID_COLUMNS) | set(HANDLE_COLUMNS) | set(JSON_COLUMNS) | set(NOT_PERSONAL)


def test_every_author_or_handle_column_is_listed(store):
    found = inspect(store.engine)
    named = {(t, c["name"]) for t in found.get_table_names() for c in found.get_columns(t)
             if any(w in c["name"].lower() for w in ("author", "handle", "user_id", "screen_name"))}
    assert named, "the schema has author columns"
    assert named <= LISTED, f"add to listener/store/personal.py: {sorted(named - LISTED)}"


def test_listed_columns_exist(store):
    found = inspect(store.engine)
    have = {(t, c["name"]) for t in found.get_table_names() for c in found.get_columns(t)}
    assert LISTED <= have, sorted(LISTED - have)
