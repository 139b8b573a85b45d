"""keyed author ids: re-key every stored author id with the author-id key (HMAC-SHA256)

Author row ids were `stable_id(platform, native_id)`, an unkeyed hash anyone can recompute from
a handle's native id. This re-keys them, in every author-id column and every JSON copy, with
the key `listener.id_key` finds outside the database (`listener.store.rekey`), in this
migration's one transaction: a crash leaves the old ids, and the next open runs it again.
It also records the key's fingerprint in meta (a store then refuses another key), asks
`Store.open` to overwrite the freed pages that still hold the old ids, and drops a per-store
erasure salt that no erasure record needs.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-03 14:30:00
"""

from alembic import context, op

from listener import id_key
from listener.ids import key_check
from listener.store.rekey import rekey_author_ids

revision = '0014'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    key = context.config.attributes.get("id_key") or id_key.load()
    conn = op.get_bind()
    rekey_author_ids(conn, key)
    conn.exec_driver_sql("DELETE FROM meta WHERE key = 'id_key_check'")
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    conn.exec_driver_sql(f"INSERT INTO meta (key, value) VALUES ('id_key_check', {mark})",
                         (key_check(key),))
    # The old ids' bytes are overwritten by `Store.open` right after (VACUUM cannot run here).
    conn.exec_driver_sql("DELETE FROM meta WHERE key = 'compact_pending'")
    conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('compact_pending', '0014')")
    if not conn.exec_driver_sql("SELECT COUNT(*) FROM erasures").scalar():
        conn.exec_driver_sql("DELETE FROM meta WHERE key = 'erasure_salt'")


def downgrade() -> None:
    raise NotImplementedError("keyed author ids cannot be turned back into unkeyed hashes "
                              "(HMAC is one-way); restore a backup taken before 0014")
