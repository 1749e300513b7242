"""redactions that hold

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:15:00

"""
import json
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('redactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.Double(), nullable=False),
    sa.Column('end', sa.Double(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.Column('undo_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_redactions_created_by_id_users')),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], name=op.f('fk_redactions_story_id_stories')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_redactions_undone_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redactions'))
    )
    with op.batch_alter_table('redactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redactions_story_id'), ['story_id'], unique=False)
    _records_from_word_flags()


def _records_from_word_flags():
    """Redactions made before this revision live only as flags on words: record each run."""
    bind = op.get_bind()
    passages = sa.table(
        'passages', sa.column('story_id', sa.Integer()), sa.column('start', sa.Double()),
        sa.column('words', sa.JSON()),
    )
    redactions = sa.table(
        'redactions', sa.column('story_id', sa.Integer()), sa.column('start', sa.Double()),
        sa.column('end', sa.Double()), sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('undo_reason', sa.Text()),
    )
    rows = bind.execute(
        sa.select(passages.c.story_id, passages.c.words).order_by(
            passages.c.story_id, passages.c.start
        )
    ).fetchall()
    spans = {}
    for story_id, words in rows:
        if isinstance(words, str):
            words = json.loads(words)
        story_spans = spans.setdefault(story_id, [])
        for word in words or []:
            if not word.get('redacted'):
                continue
            start, end = float(word['start']), float(word['end'])
            # The same joining rule as storyhub.transcripts.redacted_spans.
            if story_spans and start - story_spans[-1][1] < 0.05:
                story_spans[-1] = (story_spans[-1][0], max(end, story_spans[-1][1]))
            else:
                story_spans.append((start, end))
    now = datetime.now(timezone.utc)
    records = [
        {'story_id': story_id, 'start': start, 'end': end, 'created_at': now, 'undo_reason': ''}
        for story_id, story_spans in spans.items()
        for start, end in story_spans
    ]
    if records:
        op.bulk_insert(redactions, records)


def downgrade():
    # The words keep their flags, so going back loses only who removed what and the undo history.
    with op.batch_alter_table('redactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redactions_story_id'))

    op.drop_table('redactions')
