"""The sandbox's own SQLite database: tables and every query on them."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from bots.runtime.clock import utc
from sandbox.models import (
    Account,
    AccountChange,
    Customer,
    InsuredPerson,
    MailAttachment,
    MailMessage,
    Policy,
)

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
    sa.Column("changed_by", sa.String(64), nullable=False),
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


# letters that Unicode does not decompose into a base letter plus a mark
_FOLD_EXTRA = str.maketrans({"ł": "l", "ø": "o", "ı": "i", "đ": "d", "æ": "ae", "œ": "oe"})


def search_key(text: str) -> str:
    """Folded form used for name search: case and diacritics ignored (Weiß ~ weiss, Łucja ~ lucja)."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_EXTRA))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(plain.split())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL + busy timeout: the web app and the SMTP server write from different threads or processes
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class SandboxDB:
    """The sandbox database; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(f"sqlite:///{self.path.resolve()}")
        event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self.logins = 0  # sessions created since this process opened the database (for tests and benchmarks)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SandboxDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- seeding ---------------------------------------------------------------------------------

    def clear(self) -> None:
        """Remove all customers, policies, mail and audit rows (not sessions)."""
        with self.engine.begin() as conn:
            for table in (attachments, messages, account_changes, accounts, insured_persons, policies):
                conn.execute(table.delete())
            conn.execute(customers.delete())

    def insert(
        self,
        new_customers: Sequence[Customer],
        new_policies: Sequence[Policy],
        new_insured: Sequence[InsuredPerson],
        new_accounts: Sequence[Account],
    ) -> None:
        with self.engine.begin() as conn:
            if new_customers:
                conn.execute(customers.insert(), [_customer_row(c) for c in new_customers])
            if new_policies:
                conn.execute(policies.insert(), [_policy_row(p) for p in new_policies])
            if new_insured:
                conn.execute(insured_persons.insert(), [vars(p) for p in new_insured])
            if new_accounts:
                conn.execute(accounts.insert(), [vars(a) for a in new_accounts])

    def customer_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one())

    # -- customers and policies ------------------------------------------------------------------

    def all_customers(self) -> list[Customer]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(customers).order_by(customers.c.customer_id))
            return [_customer(r) for r in rows]

    def customer(self, customer_id: str) -> Customer | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.customer_id == customer_id)).first()
            return _customer(row) if row else None

    def search_customers(
        self, customer_id: str = "", name: str = "", policy_number: str = "", limit: int = 200
    ) -> list[Customer]:
        query = sa.select(customers).order_by(customers.c.customer_id).limit(limit)
        if customer_id.strip():
            query = query.where(customers.c.customer_id == customer_id.strip().upper())
        for word in search_key(name).split():
            query = query.where(customers.c.search_name.contains(word, autoescape=True))
        if policy_number.strip():
            owners = sa.select(policies.c.customer_id).where(
                policies.c.policy_number == policy_number.strip().upper()
            )
            query = query.where(customers.c.customer_id.in_(owners))
        with self.engine.connect() as conn:
            return [_customer(r) for r in conn.execute(query)]

    def policies_of(self, customer_id: str) -> list[Policy]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(policies)
                .where(policies.c.customer_id == customer_id)
                .order_by(policies.c.policy_number)
            )
            return [_policy(r) for r in rows]

    def policy(self, policy_number: str) -> Policy | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(policies).where(policies.c.policy_number == policy_number)).first()
            return _policy(row) if row else None

    def insured_persons(self, policy_number: str) -> list[InsuredPerson]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(insured_persons)
                .where(insured_persons.c.policy_number == policy_number)
                .order_by(insured_persons.c.id)
            )
            return [
                InsuredPerson(r.policy_number, r.first_name, r.last_name, r.birth_date, r.role) for r in rows
            ]

    def accounts(self, policy_number: str) -> list[Account]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(accounts)
                .where(accounts.c.policy_number == policy_number)
                .order_by(accounts.c.role.desc())  # debit first
            )
            return [_account(r) for r in rows]

    def account(self, policy_number: str, role: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(accounts).where(accounts.c.policy_number == policy_number, accounts.c.role == role)
            ).first()
            return _account(row) if row else None

    def save_account(self, new: Account, changed_by: str, at: datetime) -> AccountChange:
        """Store the account (insert or replace) and append an audit row "account change"."""
        with self.engine.begin() as conn:
            where = (accounts.c.policy_number == new.policy_number) & (accounts.c.role == new.role)
            old = conn.execute(sa.select(accounts.c.iban).where(where)).scalar_one_or_none()
            if old is None:
                conn.execute(accounts.insert().values(**vars(new)))
            else:
                conn.execute(
                    accounts.update()
                    .where(where)
                    .values(holder=new.holder, iban=new.iban, bic=new.bic, bank_name=new.bank_name)
                )
            values = {
                "policy_number": new.policy_number,
                "role": new.role,
                "old_iban": old,
                "new_iban": new.iban,
                "holder": new.holder,
                "bic": new.bic,
                "bank_name": new.bank_name,
                "changed_by": changed_by,
                "changed_at": utc(at).replace(tzinfo=None),
            }
            change_id = conn.execute(account_changes.insert().values(**values)).inserted_primary_key[0]
        return AccountChange(id=int(change_id), **{**values, "changed_at": utc(at)})

    def account_changes(self, policy_number: str | None = None) -> list[AccountChange]:
        query = sa.select(account_changes).order_by(account_changes.c.id)
        if policy_number:
            query = query.where(account_changes.c.policy_number == policy_number)
        with self.engine.connect() as conn:
            return [
                AccountChange(**{**r._asdict(), "changed_at": utc(r.changed_at)}) for r in conn.execute(query)
            ]

    def set_flags(
        self,
        policy_number: str,
        dunning_active: bool | None = None,
        cancellation_pending: bool | None = None,
    ) -> Policy | None:
        """Set or clear the critical-process flags; None leaves a flag as it is."""
        values: dict[str, bool] = {}
        if dunning_active is not None:
            values["dunning_active"] = dunning_active
        if cancellation_pending is not None:
            values["cancellation_pending"] = cancellation_pending
        if values:
            with self.engine.begin() as conn:
                conn.execute(
                    policies.update().where(policies.c.policy_number == policy_number).values(**values)
                )
        return self.policy(policy_number)

    # -- sessions --------------------------------------------------------------------------------

    def create_session(self, username: str, at: datetime) -> str:
        token = secrets.token_urlsafe(32)
        self.logins += 1
        with self.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    token=token, username=username, created_at=utc(at).replace(tzinfo=None)
                )
            )
        return token

    def session_user(self, token: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sessions.c.username).where(sessions.c.token == token)
            ).scalar_one_or_none()

    def delete_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token == token))

    def expire_sessions(self) -> int:
        """End every login session (as a restart or a session timeout of the real system would)."""
        with self.engine.begin() as conn:
            return int(conn.execute(sessions.delete()).rowcount)


    # -- mail ------------------------------------------------------------------------------------

    def store_message(
        self,
        mailbox_kind: str,
        mailbox: str,
        header: dict[str, Any],
        raw: bytes,
        parts: Iterable[tuple[str, str, bytes, str]],
        at: datetime,
    ) -> tuple[int, bool]:
        """Store a delivered message; returns (message no, stored). A repeated Message-ID is counted, not stored."""
        message_id = header.get("message_id")
        with self.engine.begin() as conn:
            if message_id:
                existing = conn.execute(
                    sa.select(messages.c.no).where(
                        messages.c.mailbox_kind == mailbox_kind,
                        messages.c.mailbox == mailbox,
                        messages.c.message_id == message_id,
                    )
                ).scalar_one_or_none()
                if existing is not None:
                    conn.execute(
                        messages.update()
                        .where(messages.c.no == existing)
                        .values(duplicates=messages.c.duplicates + 1)
                    )
                    return int(existing), False
            no = conn.execute(
                messages.insert().values(
                    mailbox_kind=mailbox_kind,
                    mailbox=mailbox,
                    raw=raw,
                    received_at=utc(at).replace(tzinfo=None),
                    duplicates=0,
                    **header,
                )
            ).inserted_primary_key[0]
            rows = [
                {
                    "message_no": no,
                    "idx": idx,
                    "filename": filename,
                    "content_type": content_type,
                    "size": len(data),
                    "sha256": sha256,
                    "data": data,
                }
                for idx, (filename, content_type, data, sha256) in enumerate(parts)
            ]
            if rows:
                conn.execute(attachments.insert(), rows)
        return int(no), True

    def messages(self, mailbox_kind: str, mailbox: str) -> list[MailMessage]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*[c for c in messages.c if c.name != "raw"])
                .where(messages.c.mailbox_kind == mailbox_kind, messages.c.mailbox == mailbox)
                .order_by(messages.c.no)
            ).all()
            nos = [r.no for r in rows]
            parts: dict[int, list[MailAttachment]] = {no: [] for no in nos}
            if nos:
                att_rows = conn.execute(
                    sa.select(*[c for c in attachments.c if c.name != "data"])
                    .where(attachments.c.message_no.in_(nos))
                    .order_by(attachments.c.message_no, attachments.c.idx)
                )
                for a in att_rows:
                    parts[a.message_no].append(
                        MailAttachment(a.idx, a.filename, a.content_type, a.size, a.sha256)
                    )
        return [
            MailMessage(
                no=r.no,
                mailbox_kind=r.mailbox_kind,
                mailbox=r.mailbox,
                message_id=r.message_id,
                subject=r.subject,
                sender=r.sender,
                to=r.to,
                date=r.date,
                body_text=r.body_text,
                received_at=utc(r.received_at),
                duplicates=r.duplicates,
                attachments=tuple(parts[r.no]),
            )
            for r in rows
        ]

    def attachment(self, mailbox_kind: str, mailbox: str, no: int, idx: int) -> tuple[str, str, bytes] | None:
        """(filename, content type, bytes) of one attachment, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(attachments.c.filename, attachments.c.content_type, attachments.c.data)
                .join(messages, messages.c.no == attachments.c.message_no)
                .where(
                    messages.c.mailbox_kind == mailbox_kind,
                    messages.c.mailbox == mailbox,
                    attachments.c.message_no == no,
                    attachments.c.idx == idx,
                )
            ).first()
            return (row.filename, row.content_type, row.data) if row else None

    def raw_message(self, mailbox_kind: str, mailbox: str, no: int) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(messages.c.raw).where(
                    messages.c.mailbox_kind == mailbox_kind,
                    messages.c.mailbox == mailbox,
                    messages.c.no == no,
                )
            ).scalar_one_or_none()


def _customer_row(c: Customer) -> dict[str, Any]:
    return {**vars(c), "search_name": search_key(f"{c.first_name} {c.last_name}")}


def _policy_row(p: Policy) -> dict[str, Any]:
    row = vars(p).copy()
    row["premium_cents"] = int((row.pop("premium") * 100).to_integral_value())
    return row


def _customer(row: Any) -> Customer:
    values = row._asdict()
    values.pop("search_name")
    return Customer(**values)


def _policy(row: Any) -> Policy:
    values = row._asdict()
    values["premium"] = Decimal(values.pop("premium_cents")).scaleb(-2)
    return Policy(**values)


def _account(row: Any) -> Account:
    return Account(row.policy_number, row.role, row.holder, row.iban, row.bic, row.bank_name)
