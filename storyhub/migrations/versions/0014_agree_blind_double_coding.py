"""blind double coding

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:56:57.618190

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # Blind double coding (storyhub/agreement): each coder's choices stay here, apart from the
    # tags, until the pair settle one version; rounds are kept for the agreement figures.
    op.create_table('blind_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('first_coder_id', sa.Integer(), nullable=False),
    sa.Column('second_coder_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('second_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['first_coder_id'], ['users.id'], name=op.f('fk_blind_rounds_first_coder_id_users')),
    sa.ForeignKeyConstraint(['second_coder_id'], ['users.id'], name=op.f('fk_blind_rounds_second_coder_id_users')),
    sa.ForeignKeyConstraint(['settled_by_id'], ['users.id'], name=op.f('fk_blind_rounds_settled_by_id_users')),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], name=op.f('fk_blind_rounds_story_id_stories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blind_rounds'))
    )
    with op.batch_alter_table('blind_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blind_rounds_first_coder_id'), ['first_coder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_blind_rounds_second_coder_id'), ['second_coder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_blind_rounds_story_id'), ['story_id'], unique=False)

    op.create_table('blind_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('coder_id', sa.Integer(), nullable=False),
    sa.Column('passage_id', sa.Integer(), nullable=False),
    sa.Column('subtheme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['coder_id'], ['users.id'], name=op.f('fk_blind_choices_coder_id_users')),
    sa.ForeignKeyConstraint(['passage_id'], ['passages.id'], name=op.f('fk_blind_choices_passage_id_passages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['blind_rounds.id'], name=op.f('fk_blind_choices_round_id_blind_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subtheme_id'], ['subthemes.id'], name=op.f('fk_blind_choices_subtheme_id_subthemes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blind_choices')),
    sa.UniqueConstraint('round_id', 'coder_id', 'passage_id', 'subtheme_id', name=op.f('uq_blind_choices_round_id'))
    )
    with op.batch_alter_table('blind_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blind_choices_passage_id'), ['passage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_blind_choices_round_id'), ['round_id'], unique=False)

    op.create_table('blind_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('passage_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['passage_id'], ['passages.id'], name=op.f('fk_blind_units_passage_id_passages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['blind_rounds.id'], name=op.f('fk_blind_units_round_id_blind_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blind_units')),
    sa.UniqueConstraint('round_id', 'passage_id', name=op.f('uq_blind_units_round_id'))
    )
    with op.batch_alter_table('blind_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blind_units_passage_id'), ['passage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_blind_units_round_id'), ['round_id'], unique=False)



def downgrade():
    with op.batch_alter_table('blind_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blind_units_round_id'))
        batch_op.drop_index(batch_op.f('ix_blind_units_passage_id'))

    op.drop_table('blind_units')
    with op.batch_alter_table('blind_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blind_choices_round_id'))
        batch_op.drop_index(batch_op.f('ix_blind_choices_passage_id'))

    op.drop_table('blind_choices')
    with op.batch_alter_table('blind_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blind_rounds_story_id'))
        batch_op.drop_index(batch_op.f('ix_blind_rounds_second_coder_id'))
        batch_op.drop_index(batch_op.f('ix_blind_rounds_first_coder_id'))

    op.drop_table('blind_rounds')
