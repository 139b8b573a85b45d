"""columns that fit real ids: native ids up to 512 characters, language tags up to 64

RSS guids are URLs and real ones run past 128 characters; BCP-47 tags past 16.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03 11:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0009'
branch_labels = None
depends_on = None

_WIDER = (("authors", "native_id", 128, 512), ("posts", "native_id", 128, 512),
          ("posts", "parent_native_id", 128, 512), ("posts", "conversation_id", 128, 512),
          ("posts", "lang", 16, 64))


def _sqlite() -> bool:
    """SQLite does not enforce VARCHAR lengths, and a batch alter there rebuilds the table:
    dropping the old `posts` would cascade to every score, brand tag and interaction."""
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        return
    for table, column, old, new in _WIDER:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=old),
                                  type_=sa.String(length=new))


def downgrade() -> None:
    if _sqlite():
        return
    for table, column, old, new in _WIDER:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=new),
                                  type_=sa.String(length=old))
