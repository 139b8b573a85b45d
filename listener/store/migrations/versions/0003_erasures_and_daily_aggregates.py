"""erasures and daily aggregates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:04:18.226023
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasures',
    sa.Column('subject_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('subject_hash')
    )
    op.create_table('daily_brand_sentiment',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'brand_id', 'platform', 'label')
    )


def downgrade() -> None:
    op.drop_table('daily_brand_sentiment')
    op.drop_table('erasures')
