"""customer portal and emails: the email queue (once per event) and portal order claims

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('emails',
    sa.Column('id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('marketing', sa.Boolean(), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_emails_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_emails_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emails')),
    sa.UniqueConstraint('shop_id', 'idempotency_key', name='uq_emails_shop_key')
    )
    op.create_index('ix_emails_due', 'emails', ['status', 'next_attempt_at'], unique=False)
    op.create_table('claims',
    sa.Column('id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('order_number', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_claims_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_claims_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims'))
    )
    op.create_index('ix_claims_shop_created', 'claims', ['shop_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_claims_shop_created', table_name='claims')
    op.drop_table('claims')
    op.drop_index('ix_emails_due', table_name='emails')
    op.drop_table('emails')
