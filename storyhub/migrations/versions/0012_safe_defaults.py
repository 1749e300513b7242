"""safe defaults

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 08:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # Facts about the instance itself, kept with its data: "demo" marks a demonstration site
    # (storyhub.instance), the only kind on which accounts with a published password are made.
    op.create_table('instance_settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_instance_settings'))
    )


def downgrade():
    op.drop_table('instance_settings')
