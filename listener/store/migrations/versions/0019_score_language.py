"""score language: each scored post's language and which source gave it (platform or detector)

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-03 17:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): no table rebuild on SQLite, so the mention
    # rollup's triggers on sentiment_scores stay in place.
    op.add_column('sentiment_scores', sa.Column('language', sa.String(length=16), nullable=True))
    op.add_column('sentiment_scores', sa.Column('language_source', sa.String(length=16),
                                                nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sentiment_scores', schema=None) as batch_op:
        batch_op.drop_column('language_source')
        batch_op.drop_column('language')
