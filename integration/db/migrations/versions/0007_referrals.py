"""referrals: members' share links, the addresses their portal was seen from, invited friends

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _shop_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "referral_links",
        sa.Column("id", Id, nullable=False),
        sa.Column("shop_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        _ts("created_at", False),
        _shop_fk("referral_links"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_referral_links_member_id_members"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_links")),
        sa.UniqueConstraint("code", name=op.f("uq_referral_links_code")),
        sa.UniqueConstraint("shop_id", "member_id", name="uq_referral_links_shop_member"),
    )
    op.create_table(
        "referral_visits",
        sa.Column("id", Id, nullable=False),
        sa.Column("shop_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("ip_hash", sa.String(64), nullable=False),
        _ts("seen_at", False),
        _shop_fk("referral_visits"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_referral_visits_member_id_members"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_visits")),
        sa.UniqueConstraint("shop_id", "member_id", "ip_hash", name="uq_referral_visits_shop_member_ip"),
    )
    op.create_table(
        "referrals",
        sa.Column("id", Id, nullable=False),
        sa.Column("shop_id", Id, nullable=False),
        sa.Column("referrer_id", Id, nullable=False),
        sa.Column("friend_email", sa.String(320), nullable=False),
        sa.Column("friend_key", sa.String(320), nullable=False),
        sa.Column("friend_member_id", Id, nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("code_status", sa.String(20), nullable=False),
        sa.Column("code_url", sa.String(1000), nullable=True),
        sa.Column("code_error", sa.Text(), nullable=True),
        _ts("code_expires_at"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("flag", sa.Text(), nullable=True),
        sa.Column("ip_hash", sa.String(64), nullable=True),
        sa.Column("order_id", sa.String(100), nullable=True),
        sa.Column("order_eligible", sa.Numeric(14, 2), nullable=True),
        sa.Column("order_total", sa.Numeric(14, 2), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        _ts("created_at", False),
        _ts("converted_at"),
        _ts("credit_at"),
        _ts("credited_at"),
        _ts("decided_at"),
        _shop_fk("referrals"),
        sa.ForeignKeyConstraint(["referrer_id"], ["members.id"], name=op.f("fk_referrals_referrer_id_members"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["friend_member_id"], ["members.id"],
                                name=op.f("fk_referrals_friend_member_id_members"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("shop_id", "code", name="uq_referrals_shop_code"),
        sa.UniqueConstraint("shop_id", "friend_key", name="uq_referrals_shop_friend"),
    )
    op.create_index("ix_referrals_shop_status", "referrals", ["shop_id", "status", "credit_at"])
    op.create_index("ix_referrals_referrer", "referrals", ["referrer_id", "converted_at"])
    op.create_index("ix_referrals_shop_ip", "referrals", ["shop_id", "ip_hash", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_referrals_shop_ip", table_name="referrals")
    op.drop_index("ix_referrals_referrer", table_name="referrals")
    op.drop_index("ix_referrals_shop_status", table_name="referrals")
    op.drop_table("referrals")
    op.drop_table("referral_visits")
    op.drop_table("referral_links")
