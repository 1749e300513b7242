"""search: the service setting of a story, and the search index's outbox of changes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SETTINGS = ('home_care', 'care_home', 'day_service', 'supported_living', 'hospital',
            'community_team', 'carers_support', 'other', 'not_said')


def upgrade():
    op.create_table('search_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_changes'))
    )
    with op.batch_alter_table('search_changes', schema=None) as batch_op:
        batch_op.create_index('ix_search_changes_done_id', ['done_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_changes_story_id'), ['story_id'], unique=False)

    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'setting',
            sa.Enum(*SETTINGS, name='servicesetting', native_enum=False, create_constraint=True,
                    length=24),
            nullable=False, server_default='not_said'))


def downgrade():
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stories_servicesetting'), type_='check')
        batch_op.drop_column('setting')
    with op.batch_alter_table('search_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_changes_story_id'))
        batch_op.drop_index('ix_search_changes_done_id')
    op.drop_table('search_changes')
