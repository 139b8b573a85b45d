"""alert routing: who acknowledged or resolved an alert and when, and chat webhooks in the outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=128), nullable=True))
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False,
                                      server_default='email'))


def downgrade() -> None:
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_at')
