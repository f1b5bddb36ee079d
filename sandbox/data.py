"""The sandbox's own SQLite database: every query on its tables (sandbox.tables)."""

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
    TravelTariff,
)
from sandbox.tables import (
    account_changes,
    accounts,
    attachments,
    customers,
    insured_persons,
    messages,
    metadata,
    policies,
    sessions,
    travel_tariffs,
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
        if self._outdated():
            metadata.drop_all(self.engine)  # invented data only: an older schema is reseeded, not migrated
        metadata.create_all(self.engine)
        self.logins = 0  # sessions created since this process opened the database (for tests and benchmarks)

    def _outdated(self) -> bool:
        """Whether the file holds tables of an older schema (a column missing or gone)."""
        found = sa.inspect(self.engine)
        return any(
            found.has_table(table.name)
            and {c["name"] for c in found.get_columns(table.name)} != set(table.columns.keys())
            for table in metadata.sorted_tables
        )

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
            tables = (
                attachments,
                messages,
                account_changes,
                accounts,
                insured_persons,
                policies,
                travel_tariffs,
            )
            for table in tables:
                conn.execute(table.delete())
            conn.execute(customers.delete())

    def insert(
        self,
        new_customers: Sequence[Customer],
        new_policies: Sequence[Policy],
        new_insured: Sequence[InsuredPerson],
        new_accounts: Sequence[Account],
        new_tariffs: Sequence[TravelTariff] = (),
    ) -> None:
        with self.engine.begin() as conn:
            if new_tariffs:
                conn.execute(travel_tariffs.insert(), [_tariff_row(t) for t in new_tariffs])
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
                sa.select(*[c for c in insured_persons.c if c.name != "id"])
                .where(insured_persons.c.policy_number == policy_number)
                .order_by(insured_persons.c.id)
            )
            return [InsuredPerson(**r._asdict()) for r in rows]

    def travel_tariff(self, tariff: str) -> TravelTariff | None:
        """The cover of a travel tariff by its name; None for other tariffs."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(travel_tariffs).where(travel_tariffs.c.tariff == tariff)).first()
        if row is None:
            return None
        values = row._asdict()
        cents = values.pop("sum_insured_cents")
        values["sum_insured"] = None if cents is None else Decimal(cents).scaleb(-2)
        values["deductible"] = Decimal(values.pop("deductible_cents")).scaleb(-2)
        return TravelTariff(**values)

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

    def save_account(self, new: Account, changed_by: str, at: datetime, authority: str) -> AccountChange:
        """Store the account (insert or replace) and append a row to its history: `changed_by` is the login
        that entered the change, `authority` who ordered it ("bot" or "clerk:<name>")."""
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
                "authority": authority,
            }
            change_id = conn.execute(account_changes.insert().values(**values)).inserted_primary_key[0]
        return AccountChange(id=int(change_id), **{**values, "changed_at": utc(at)})

    def account_changes(
        self, policy_number: str | None = None, newest_first: bool = False
    ) -> list[AccountChange]:
        """The account history (of one policy, or of all), in the order the changes were made or newest first."""
        order = account_changes.c.id.desc() if newest_first else account_changes.c.id
        query = sa.select(account_changes).order_by(order)
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

    def set_intermediary(self, policy_number: str, intermediary_id: str | None) -> Policy | None:
        """Make a customer the policy's intermediary (None: no intermediary); None when there is no such
        policy. The intermediary must be a customer who is an intermediary (ValueError otherwise)."""
        if intermediary_id is not None:
            agent = self.customer(intermediary_id)
            if agent is None or not agent.is_intermediary:
                raise ValueError(f"{intermediary_id} is no intermediary")
        with self.engine.begin() as conn:
            conn.execute(
                policies.update()
                .where(policies.c.policy_number == policy_number)
                .values(intermediary_id=intermediary_id)
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


def _tariff_row(t: TravelTariff) -> dict[str, Any]:
    row = vars(t).copy()
    amount = row.pop("sum_insured")
    row["sum_insured_cents"] = None if amount is None else int(amount * 100)
    row["deductible_cents"] = int(row.pop("deductible") * 100)
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
