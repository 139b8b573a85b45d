"""covering indexes for the dashboard

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 23:50:37.811525
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post_brands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_brands_brand_created'))
        batch_op.create_index('ix_post_brands_brand_created_post', ['brand_id', 'created_at', 'post_id'], unique=False)

    with op.batch_alter_table('sentiment_scores', schema=None) as batch_op:
        batch_op.create_index('ix_sentiment_post_model_label', ['post_id', 'model_version', 'label'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sentiment_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_sentiment_post_model_label')

    with op.batch_alter_table('post_brands', schema=None) as batch_op:
        batch_op.drop_index('ix_post_brands_brand_created_post')
        batch_op.create_index(batch_op.f('ix_post_brands_brand_created'), ['brand_id', 'created_at'], unique=False)

