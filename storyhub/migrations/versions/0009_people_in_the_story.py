"""people in the story

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_versions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('people_held', sa.Boolean(), server_default='0', nullable=False)
        )
    # Stories already released with someone who hasn't agreed are held back from now on: the
    # wizard promised their name would go before anyone else saw the story.
    versions = sa.table(
        'consent_versions',
        sa.column('id', sa.Integer()),
        sa.column('third_parties', sa.JSON()),
        sa.column('people_held', sa.Boolean()),
    )
    connection = op.get_bind()
    held = [
        row.id
        for row in connection.execute(sa.select(versions.c.id, versions.c.third_parties))
        if any(
            not p.get('agreed') and not p.get('removed') for p in (row.third_parties or [])
        )
    ]
    if held:
        connection.execute(
            versions.update().where(versions.c.id.in_(held)).values(people_held=True)
        )

    op.create_table('picture_covers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.Double(), nullable=False),
    sa.Column('end', sa.Double(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_picture_covers_created_by_id_users')),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], name=op.f('fk_picture_covers_story_id_stories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_picture_covers'))
    )
    with op.batch_alter_table('picture_covers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_picture_covers_story_id'), ['story_id'], unique=False)


def downgrade():
    with op.batch_alter_table('picture_covers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_picture_covers_story_id'))
    op.drop_table('picture_covers')
    with op.batch_alter_table('consent_versions', schema=None) as batch_op:
        batch_op.drop_column('people_held')
