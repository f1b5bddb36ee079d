"""Frozen value objects of the sandbox core system; the database module maps rows to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

LINES = ("ARK", "KV", "LEBEN", "KOMPOSIT")
BUSINESS_UNITS = ("Kranken", "Leben", "Komposit")
HEALTH_DEPARTMENTS = ("Voll", "Zusatz", "Pflege")
UNIT_OF_LINE = {"ARK": "Kranken", "KV": "Kranken", "LEBEN": "Leben", "KOMPOSIT": "Komposit"}
ACCOUNT_ROLES = ("debit", "credit")
ROLE_LABELS = {"debit": "Beitragskonto (Lastschrift)", "credit": "Leistungskonto (Gutschrift)"}
# the areas of cover of travel tariffs: code (data-value) and the card's German text
AREA_LABELS = {"WORLD_EXCEPT_DE": "weltweit außer Deutschland", "EUROPE": "Europa außer Deutschland"}


@dataclass(frozen=True)
class Customer:
    customer_id: str
    title: str
    first_name: str
    last_name: str
    birth_date: date
    street: str
    zip: str
    city: str
    country: str
    email: str
    is_intermediary: bool

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Policy:
    policy_number: str
    customer_id: str
    line: str
    business_unit: str
    health_department: str | None
    status: str  # "aktiv" | "storniert" | "ruhend"
    start_date: date
    end_date: date | None
    tariff: str
    max_trip_days: int | None
    premium: Decimal
    payment_frequency: str
    dunning_active: bool
    cancellation_pending: bool
    intermediary_id: str | None = None  # the customer id of the policy's intermediary; None: none

    @property
    def holder_is_intermediary(self) -> bool:
        """Whether the policy holder is the policy's own intermediary (a critical case for changes)."""
        return self.intermediary_id == self.customer_id


@dataclass(frozen=True)
class InsuredPerson:
    policy_number: str
    first_name: str
    last_name: str
    birth_date: date
    role: str  # "VN" | "Ehepartner" | "Kind"
    covered_from: date  # the policy's start, or later for a person added later


@dataclass(frozen=True)
class TravelTariff:
    """The cover of a travel (ARK) tariff, as its card shows it."""

    tariff: str
    area: str  # a key of AREA_LABELS
    sum_insured: Decimal | None  # per insured person; None: unlimited
    deductible: Decimal
    urgent_treatment: bool
    hospital: bool
    repatriation: bool
    repatriation_of_remains: bool
    direct_settlement: bool


@dataclass(frozen=True)
class Account:
    policy_number: str
    role: str  # "debit" | "credit"
    holder: str
    iban: str
    bic: str
    bank_name: str


@dataclass(frozen=True)
class AccountChange:
    id: int
    policy_number: str
    role: str
    old_iban: str | None
    new_iban: str
    holder: str
    bic: str
    bank_name: str
    changed_by: str  # the login that entered the change
    changed_at: datetime
    authority: str  # who ordered the change: "bot" or "clerk:<name>"


@dataclass(frozen=True)
class MailAttachment:
    idx: int
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MailMessage:
    no: int
    mailbox_kind: str  # "postfach" | "department"
    mailbox: str
    message_id: str | None
    subject: str
    sender: str
    to: str
    date: str
    body_text: str
    received_at: datetime
    duplicates: int
    attachments: tuple[MailAttachment, ...]
