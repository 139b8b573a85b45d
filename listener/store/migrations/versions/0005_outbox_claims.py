"""outbox claims: a row being sent is claimed, so two delivery runs never send it twice

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
