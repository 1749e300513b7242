"""learning versions and reasons

What the tagger learnt from curators becomes a small adaptation on top of the shipped tagger, kept
as versions an administrator can roll back: tagger_models gains in_use, story_ids and effect. The
rows held before were whole refitted taggers, which no longer load, so they are dropped (the next
refit learns again from the same decisions). Suggested themes keep the times of the words that
suggested them (reason_times).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('DELETE FROM tagger_models')
    with op.batch_alter_table('tagger_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_use', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('story_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('effect', sa.JSON(), nullable=True))
    with op.batch_alter_table('passage_themes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_times', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('passage_themes', schema=None) as batch_op:
        batch_op.drop_column('reason_times')
    op.execute('DELETE FROM tagger_models')
    with op.batch_alter_table('tagger_models', schema=None) as batch_op:
        batch_op.drop_column('effect')
        batch_op.drop_column('story_ids')
        batch_op.drop_column('in_use')
