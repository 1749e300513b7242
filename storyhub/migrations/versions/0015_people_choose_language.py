"""people choose their language

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    # Welsh or English, chosen with the language link and kept for the person on every device
    # (empty: follow the browser). Also their uploads' default language of transcription.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language")
