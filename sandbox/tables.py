"""The tables of the sandbox's own SQLite database (sandbox.data holds the queries)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", sa.String(16), primary_key=True),
    sa.Column("title", sa.String(32), nullable=False),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("street", sa.String(200), nullable=False),
    sa.Column("zip", sa.String(16), nullable=False),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("email", sa.String(200), nullable=False),
    sa.Column("is_intermediary", sa.Boolean, nullable=False, default=False),
    # casefolded "first last" so that a search for "weiss" finds "Weiß" and "lucja" finds "Łucja"
    sa.Column("search_name", sa.String(220), nullable=False),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("policy_number", sa.String(32), primary_key=True),
    sa.Column("customer_id", sa.ForeignKey("customers.customer_id"), nullable=False, index=True),
    sa.Column("line", sa.String(16), nullable=False),
    sa.Column("business_unit", sa.String(16), nullable=False),
    sa.Column("health_department", sa.String(16)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date),
    sa.Column("tariff", sa.String(64), nullable=False),
    sa.Column("max_trip_days", sa.Integer),
    sa.Column("premium_cents", sa.Integer, nullable=False),
    sa.Column("payment_frequency", sa.String(32), nullable=False),
    sa.Column("dunning_active", sa.Boolean, nullable=False, default=False),
    sa.Column("cancellation_pending", sa.Boolean, nullable=False, default=False),
    # the intermediary (Vermittler) who looks after the policy, a customer who is an intermediary; NULL: none
    sa.Column("intermediary_id", sa.ForeignKey("customers.customer_id")),
)

# the cover of each travel tariff (a product's terms, the same for every policy of the tariff)
travel_tariffs = sa.Table(
    "travel_tariffs",
    metadata,
    sa.Column("tariff", sa.String(64), primary_key=True),
    sa.Column("area", sa.String(32), nullable=False),
    sa.Column("sum_insured_cents", sa.BigInteger),  # NULL: unlimited
    sa.Column("deductible_cents", sa.Integer, nullable=False),
    sa.Column("urgent_treatment", sa.Boolean, nullable=False),
    sa.Column("hospital", sa.Boolean, nullable=False),
    sa.Column("repatriation", sa.Boolean, nullable=False),
    sa.Column("repatriation_of_remains", sa.Boolean, nullable=False),
    sa.Column("direct_settlement", sa.Boolean, nullable=False),
)

insured_persons = sa.Table(
    "insured_persons",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("policy_number", sa.ForeignKey("policies.policy_number"), nullable=False, index=True),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    # a child added to the policy later is covered from then, not from the policy's start
    sa.Column("covered_from", sa.Date, nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("policy_number", sa.ForeignKey("policies.policy_number"), primary_key=True),
    sa.Column("role", sa.String(8), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("iban", sa.String(34), nullable=False),
    sa.Column("bic", sa.String(11), nullable=False),
    sa.Column("bank_name", sa.String(200), nullable=False),
)

account_changes = sa.Table(
    "account_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("policy_number", sa.String(32), nullable=False, index=True),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("old_iban", sa.String(34)),
    sa.Column("new_iban", sa.String(34), nullable=False),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("bic", sa.String(11), nullable=False),
    sa.Column("bank_name", sa.String(200), nullable=False),
    sa.Column("changed_by", sa.String(64), nullable=False),  # the login that entered the change
    sa.Column("authority", sa.String(100), nullable=False),  # who ordered it: "bot" or "clerk:<name>"
    sa.Column("changed_at", sa.DateTime, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("no", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mailbox_kind", sa.String(16), nullable=False),
    sa.Column("mailbox", sa.String(32), nullable=False),
    sa.Column("message_id", sa.String(300)),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("sender", sa.String(300), nullable=False),
    sa.Column("to", sa.String(1000), nullable=False),
    sa.Column("date", sa.String(100), nullable=False),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False, default=0),
    # a real Postfach deduplicates by Message-ID; NULLs (no Message-ID) never collide
    sa.UniqueConstraint("mailbox_kind", "mailbox", "message_id", name="uq_message_per_mailbox"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("message_no", sa.ForeignKey("messages.no"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("filename", sa.String(300), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
