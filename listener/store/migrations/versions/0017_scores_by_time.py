"""scores by time: detect reads mentions scored since its last run (late posts)

Revision ID: 0017
Revises: 0010
Create Date: 2026-12-03 14:20:00
"""

from alembic import op

revision = '0017'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sentiment_scores', schema=None) as batch_op:
        batch_op.create_index('ix_sentiment_model_scored', ['model_version', 'scored_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sentiment_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_sentiment_model_scored')
