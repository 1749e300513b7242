"""speech: how well the machine followed a transcript's words

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # "good", "poor" (the machine could not follow: audiences wait until a person checks the
    # words) or "checked" (was poor, then a person approved the words). Empty: judged before
    # this existed, shown as before.
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recognition", sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.drop_column("recognition")
