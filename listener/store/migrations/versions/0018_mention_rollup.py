"""mention rollup: hourly mention and sentiment counts kept by triggers, for the dashboard

Revision ID: 0018
Revises: 0010
Create Date: 2026-12-03 14:10:00
"""

import sqlalchemy as sa
from alembic import op

from listener.store import rollup

revision = '0018'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mention_rollup',
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.String(length=13), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('model_version', sa.String(length=256), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('posts', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('brand_id', 'hour', 'platform', 'model_version', 'label')
    )
    op.create_table('mention_deltas',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.String(length=13), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('model_version', sa.String(length=256), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    where = sa.text('gold_reason IS NOT NULL')
    op.create_index('ix_posts_gold_reason', 'posts', ['gold_reason'], sqlite_where=where,
                    postgresql_where=where)
    conn = op.get_bind()
    rollup.install(conn)
    rollup.rebuild(conn)  # a store that already holds posts starts with its counts


def downgrade() -> None:
    rollup.uninstall(op.get_bind())
    op.drop_index('ix_posts_gold_reason', table_name='posts')
    op.drop_table('mention_deltas')
    op.drop_table('mention_rollup')
