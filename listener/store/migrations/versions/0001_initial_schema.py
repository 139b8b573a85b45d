"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:49:17.135830
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('authors',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('native_id', sa.String(length=128), nullable=False),
    sa.Column('handle', sa.String(length=256), nullable=True),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('followers', sa.BigInteger(), nullable=True),
    sa.Column('following', sa.BigInteger(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('authors', schema=None) as batch_op:
        batch_op.create_index('ix_authors_handle', ['platform', 'handle'], unique=False)

    op.create_table('brands',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('competitor_group', sa.String(length=128), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('cursors',
    sa.Column('collector', sa.String(length=64), nullable=False),
    sa.Column('query_key', sa.String(length=512), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('collector', 'query_key')
    )
    op.create_table('interactions',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_author_id', sa.BigInteger(), nullable=False),
    sa.Column('target_author_id', sa.BigInteger(), nullable=False),
    sa.Column('source_post_id', sa.BigInteger(), nullable=True),
    sa.Column('target_post_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_created', ['created_at'], unique=False)
        batch_op.create_index('ix_interactions_source_post', ['source_post_id'], unique=False)
        batch_op.create_index('ix_interactions_target_post', ['target_post_id'], unique=False)

    op.create_table('meta',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('posts',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('native_id', sa.String(length=128), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('likes', sa.BigInteger(), nullable=True),
    sa.Column('reposts', sa.BigInteger(), nullable=True),
    sa.Column('replies', sa.BigInteger(), nullable=True),
    sa.Column('quotes', sa.BigInteger(), nullable=True),
    sa.Column('views', sa.BigInteger(), nullable=True),
    sa.Column('parent_native_id', sa.String(length=128), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('gold_label', sa.String(length=16), nullable=True),
    sa.Column('gold_reason', sa.String(length=128), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_author', ['author_id'], unique=False)
        batch_op.create_index('ix_posts_created', ['created_at'], unique=False)
        batch_op.create_index('ix_posts_platform_created', ['platform', 'created_at'], unique=False)

    op.create_table('sentiment_cache',
    sa.Column('model_version', sa.String(length=256), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('negative', sa.Float(), nullable=False),
    sa.Column('neutral', sa.Float(), nullable=False),
    sa.Column('positive', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('model_version', 'text_hash')
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('story_key', sa.String(length=256), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.Float(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_severity', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('brand_id', 'story_key', name='uq_alerts_brand_story')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_status_severity', ['status', 'severity'], unique=False)

    op.create_table('influence_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('post_brands',
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', 'brand_id')
    )
    with op.batch_alter_table('post_brands', schema=None) as batch_op:
        batch_op.create_index('ix_post_brands_brand_created', ['brand_id', 'created_at'], unique=False)

    op.create_table('sentiment_scores',
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('model_version', sa.String(length=256), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('negative', sa.Float(), nullable=False),
    sa.Column('neutral', sa.Float(), nullable=False),
    sa.Column('positive', sa.Float(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', 'model_version')
    )
    with op.batch_alter_table('sentiment_scores', schema=None) as batch_op:
        batch_op.create_index('ix_sentiment_model_label', ['model_version', 'label'], unique=False)

    op.create_table('influence_scores',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('influence', sa.Float(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('community', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['influence_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'author_id')
    )
    with op.batch_alter_table('influence_scores', schema=None) as batch_op:
        batch_op.create_index('ix_influence_scores_rank', ['run_id', 'rank'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('influence_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_influence_scores_rank')

    op.drop_table('influence_scores')
    with op.batch_alter_table('sentiment_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_sentiment_model_label')

    op.drop_table('sentiment_scores')
    with op.batch_alter_table('post_brands', schema=None) as batch_op:
        batch_op.drop_index('ix_post_brands_brand_created')

    op.drop_table('post_brands')
    op.drop_table('influence_runs')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_status_severity')

    op.drop_table('alerts')
    op.drop_table('sentiment_cache')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_platform_created')
        batch_op.drop_index('ix_posts_created')
        batch_op.drop_index('ix_posts_author')

    op.drop_table('posts')
    op.drop_table('meta')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_target_post')
        batch_op.drop_index('ix_interactions_source_post')
        batch_op.drop_index('ix_interactions_created')

    op.drop_table('interactions')
    op.drop_table('cursors')
    op.drop_table('brands')
    with op.batch_alter_table('authors', schema=None) as batch_op:
        batch_op.drop_index('ix_authors_handle')

    op.drop_table('authors')
