"""post themes: each brand mention's found complaint theme (undertow themes), for alerts

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('post_themes',
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('theme_name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', 'brand_id')
    )


def downgrade() -> None:
    op.drop_table('post_themes')
