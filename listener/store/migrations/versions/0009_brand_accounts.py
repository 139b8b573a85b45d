"""brand accounts: each brand's own accounts per platform, and threads found by conversation id

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('brand_accounts',
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('handle', sa.String(length=256), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('platform', 'handle')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_conversation', ['platform', 'conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_conversation')
    op.drop_table('brand_accounts')
