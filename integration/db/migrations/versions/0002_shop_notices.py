"""shop notices: what the merchant must be told (webhooks repaired, keys refused)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('shop_notices',
    sa.Column('id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_notices_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_notices'))
    )
    with op.batch_alter_table('shop_notices', schema=None) as batch_op:
        batch_op.create_index('ix_shop_notices_shop', ['shop_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shop_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_shop_notices_shop')
    op.drop_table('shop_notices')
