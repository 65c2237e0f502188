"""Tables (SQLAlchemy Core). Every row belongs to one shop; invariants live in constraints.

The ledger is append-only: `UNIQUE(shop_id, source_key)` makes crediting twice impossible and
`CHECK(points <> 0)` keeps it free of empty entries. Alembic migrations in `migrations/` create these.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Money = Numeric(14, 2)
Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER keys


def _ts(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


shops = Table(
    "shops", metadata,
    Column("id", Id, primary_key=True),
    Column("platform", String(20), nullable=False),
    Column("domain", String(255), nullable=False),
    Column("name", String(255), nullable=False, default=""),
    Column("currency", String(3), nullable=False, default="USD"),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("locale", String(16), nullable=False, default="en"),
    Column("status", String(20), nullable=False, default="active"),
    Column("credentials", Text, nullable=False, default=""),  # encrypted JSON
    Column("webhook_secret", Text, nullable=False, default=""),  # encrypted
    Column("token_expires_at", DateTime(timezone=True)),
    _ts("installed_at", False),
    _ts("uninstalled_at"),
    _ts("last_sync_at"),
    UniqueConstraint("platform", "domain", name="uq_shops_platform_domain"),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("label", String(100), nullable=False, default=""),
    _ts("created_at", False),
    _ts("revoked_at"),
)

programs = Table(
    "programs", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("note", String(255), nullable=False, default=""),
    _ts("created_at", False),
    UniqueConstraint("shop_id", "version", name="uq_programs_shop_version"),
)

members = Table(
    "members", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", String(100), nullable=False),
    Column("email", String(320)),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("accepts_marketing", Boolean, nullable=False, default=False),
    Column("locale", String(16)),
    Column("birthday", Date),
    Column("balance", BigInteger, nullable=False, default=0),  # cached SUM(ledger.points)
    Column("lifetime_points", BigInteger, nullable=False, default=0),  # SUM of credits
    Column("orders_count", Integer, nullable=False, default=0),
    Column("total_spent", Money, nullable=False, default=0),
    Column("tier", String(60)),
    _ts("tier_until"),
    Column("plan_id", String(60)),
    _ts("membership_ends_at"),
    Column("membership_order_id", String(100)),
    _ts("enrolled_at", False),
    _ts("last_order_at"),
    _ts("last_reminder_at"),
    Column("unsubscribed", Boolean, nullable=False, default=False),
    Column("redacted", Boolean, nullable=False, default=False),
    UniqueConstraint("shop_id", "customer_id", name="uq_members_shop_customer"),
)
Index("ix_members_shop_email", members.c.shop_id, members.c.email)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("source_key", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("program_version", Integer, nullable=False),
    Column("order_id", String(100)),
    Column("note", String(500), nullable=False, default=""),
    _ts("created_at", False),
    _ts("spendable_at", False),
    _ts("expires_at"),
    UniqueConstraint("shop_id", "source_key", name="uq_ledger_shop_source_key"),
    CheckConstraint("points <> 0", name="points_nonzero"),
)
Index("ix_ledger_member", ledger_entries.c.member_id, ledger_entries.c.id)

orders = Table(
    "orders", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("order_number", String(100)),
    Column("currency", String(3), nullable=False),
    Column("total", Money, nullable=False),
    Column("eligible", Money, nullable=False),
    Column("earned_points", BigInteger, nullable=False),
    Column("program_version", Integer, nullable=False),
    Column("discount_codes", JSON, nullable=False, default=list),
    Column("shipping_address", String(500)),  # one line, as the store sent it (referral fraud checks)
    _ts("paid_at", False),
    UniqueConstraint("shop_id", "order_id", name="uq_orders_shop_order"),
)

order_refunds = Table(
    "order_refunds", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("refund_id", String(100), nullable=False),
    Column("eligible", Money, nullable=False),
    Column("points", BigInteger, nullable=False),
    _ts("refunded_at", False),
    UniqueConstraint("shop_id", "order_id", "refund_id", name="uq_order_refunds_shop_order_refund"),
)

redemptions = Table(
    "redemptions", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("reward_id", String(60), nullable=False),
    Column("reward", JSON, nullable=False),  # snapshot of the reward as redeemed
    Column("points", BigInteger, nullable=False),
    Column("code", String(64)),
    Column("status", String(20), nullable=False),  # pending, issued, failed, expired
    Column("remote_id", String(255)),
    Column("url", String(1000)),
    Column("idempotency_key", String(200)),
    Column("error", Text),
    _ts("created_at", False),
    _ts("issued_at"),
    _ts("expires_at"),
    UniqueConstraint("shop_id", "member_id", "idempotency_key", name="uq_redemptions_idempotency"),
    UniqueConstraint("shop_id", "code", name="uq_redemptions_shop_code"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("status", String(20), nullable=False, default="pending"),  # pending, done, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    _ts("created_at", False),
    _ts("next_attempt_at", False),
    _ts("done_at"),
    UniqueConstraint("shop_id", "dedupe_key", name="uq_outbox_shop_dedupe"),
)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)

outbox_attempts = Table(
    "outbox_attempts", metadata,
    Column("id", Id, primary_key=True),
    Column("outbox_id", Id, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("outcome", String(20), nullable=False),  # ok, retry, failed
    Column("error", Text),
    _ts("at", False),
)

inbox = Table(
    "inbox", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),  # pending, done, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    _ts("received_at", False),
    _ts("next_attempt_at", False),
    _ts("locked_until"),
    _ts("processed_at"),
    UniqueConstraint("shop_id", "delivery_id", name="uq_inbox_shop_delivery"),
)
Index("ix_inbox_due", inbox.c.status, inbox.c.next_attempt_at)

exports = Table(
    "data_exports", metadata,
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", String(100), nullable=False),
    Column("request_id", String(100), nullable=False),
    Column("data", JSON, nullable=False),
    _ts("created_at", False),
    UniqueConstraint("shop_id", "request_id", name="uq_data_exports_shop_request"),
)

job_runs = Table(
    "job_runs", metadata,  # one row per job, shop and period: a period's run happens once
    Column("id", Id, primary_key=True),
    Column("job", String(40), nullable=False),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("period", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # running, done, failed
    Column("node", String(100), nullable=False, default=""),
    Column("processed", Integer, nullable=False, default=0),
    Column("changed", Integer, nullable=False, default=0),
    Column("error", Text),
    _ts("started_at", False),
    _ts("finished_at"),
    UniqueConstraint("job", "shop_id", "period", name="uq_job_runs_job_shop_period"),
)

shop_notices = Table(
    "shop_notices", metadata,  # what the merchant must be told (webhooks repaired, keys refused)
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("message", Text, nullable=False),
    _ts("created_at", False),
    _ts("read_at"),
)
Index("ix_shop_notices_shop", shop_notices.c.shop_id, shop_notices.c.id)

admin_login_tokens = Table(
    "admin_login_tokens", metadata,  # one-time sign-in links (`loyalty admin-link`); only the hash is kept
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _ts("created_at", False),
    _ts("expires_at", False),
    _ts("used_at"),
)

import_runs = Table(
    "import_runs", metadata,  # member imports from another loyalty app (dry runs too), with progress
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("file_sha", String(64), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("status", String(20), nullable=False),  # running, done, failed
    Column("total_rows", Integer, nullable=False),
    Column("processed_rows", Integer, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("error", Text),
    _ts("started_at", False),
    _ts("finished_at"),
)
Index("ix_import_runs_shop", import_runs.c.shop_id, import_runs.c.id)

emails = Table(
    "emails", metadata,  # one row per email to send; the key makes an event's email go out once
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),  # welcome, points_earned, code_issued, membership_*, reminder
    Column("idempotency_key", String(200), nullable=False),
    Column("marketing", Boolean, nullable=False, default=False),  # needs consent, carries an unsubscribe
    Column("context", JSON, nullable=False),  # the event's facts (points, order number, redemption id)
    Column("status", String(20), nullable=False, default="pending"),  # pending, sent, skipped, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("recipient", String(320)),
    Column("last_error", Text),
    _ts("created_at", False),
    _ts("next_attempt_at", False),
    _ts("sent_at"),
    UniqueConstraint("shop_id", "idempotency_key", name="uq_emails_shop_key"),
)
Index("ix_emails_due", emails.c.status, emails.c.next_attempt_at)

claims = Table(
    "claims", metadata,  # portal claims of past orders: an audit trail and the rate limit's counter
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE")),
    Column("ip", String(64), nullable=False, default=""),
    Column("order_number", String(100), nullable=False),
    Column("outcome", String(20), nullable=False),  # tried, credited, duplicate, not_found, refused
    _ts("created_at", False),
)
Index("ix_claims_shop_created", claims.c.shop_id, claims.c.created_at)

store_budgets = Table(
    "store_budgets", metadata,  # one token bucket per shop, shared by every worker (integration/budgets.py)
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("available", Float, nullable=False),  # points in the bucket at updated_at
    Column("maximum", Float, nullable=False),
    Column("restore_rate", Float, nullable=False),  # points per second
    _ts("updated_at", False),
)

referral_links = Table(
    "referral_links", metadata,  # each member's share link `/r/<code>`: short, random, one per member
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(20), nullable=False, unique=True),
    _ts("created_at", False),
    UniqueConstraint("shop_id", "member_id", name="uq_referral_links_shop_member"),
)

referral_visits = Table(
    "referral_visits", metadata,  # keyed hashes of the addresses a member's portal was seen from
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("ip_hash", String(64), nullable=False),
    _ts("seen_at", False),
    UniqueConstraint("shop_id", "member_id", "ip_hash", name="uq_referral_visits_shop_member_ip"),
)

referrals = Table(
    "referrals", metadata,  # one row per invited friend (email), with the friend's welcome code
    Column("id", Id, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("referrer_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("friend_email", String(320), nullable=False),
    Column("friend_key", String(320), nullable=False),  # normalised email: one referral per mailbox
    Column("friend_member_id", Id, ForeignKey("members.id", ondelete="SET NULL")),
    Column("code", String(64)),  # the friend's welcome code (upper case); none when blocked at once
    Column("code_status", String(20), nullable=False),  # none, pending, issued, failed
    Column("code_url", String(1000)),
    Column("code_error", Text),
    _ts("code_expires_at"),
    # invited, blocked, review, pending (reward waits for the pending period), credited,
    # reversed (the order was returned), rejected (by the merchant)
    Column("status", String(20), nullable=False),
    Column("reason", Text),  # why blocked, held for review, rejected or reversed
    Column("flag", Text),  # a suspicion found at invitation time: the reward will wait for review
    Column("ip_hash", String(64)),
    Column("order_id", String(100)),
    Column("order_eligible", Money),
    Column("order_total", Money),
    Column("points", BigInteger, nullable=False, default=0),  # the referrer's reward, once decided
    Column("program_version", Integer, nullable=False),
    _ts("created_at", False),
    _ts("converted_at"),
    _ts("credit_at"),
    _ts("credited_at"),
    _ts("decided_at"),  # reviewed, blocked or reversed
    UniqueConstraint("shop_id", "code", name="uq_referrals_shop_code"),
    UniqueConstraint("shop_id", "friend_key", name="uq_referrals_shop_friend"),
)
Index("ix_referrals_shop_status", referrals.c.shop_id, referrals.c.status, referrals.c.credit_at)
Index("ix_referrals_referrer", referrals.c.referrer_id, referrals.c.converted_at)
Index("ix_referrals_shop_ip", referrals.c.shop_id, referrals.c.ip_hash, referrals.c.created_at)
