"""copies bound to what they were made from

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 08:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('copies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('file_keys', sa.JSON(), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('gone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gone_reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copies'))
    )
    with op.batch_alter_table('copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_copies_subject_id'), ['subject_id'], unique=False)

    op.create_table('copy_stories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('copy_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('naming', sa.String(length=24), nullable=False),
    sa.Column('redaction_state', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent_versions.id'], name=op.f('fk_copy_stories_consent_id_consent_versions')),
    sa.ForeignKeyConstraint(['copy_id'], ['copies.id'], name=op.f('fk_copy_stories_copy_id_copies')),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], name=op.f('fk_copy_stories_story_id_stories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copy_stories'))
    )
    with op.batch_alter_table('copy_stories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_copy_stories_copy_id'), ['copy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_copy_stories_story_id'), ['story_id'], unique=False)


def downgrade():
    with op.batch_alter_table('copy_stories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_copy_stories_story_id'))
        batch_op.drop_index(batch_op.f('ix_copy_stories_copy_id'))

    op.drop_table('copy_stories')
    with op.batch_alter_table('copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_copies_subject_id'))

    op.drop_table('copies')
