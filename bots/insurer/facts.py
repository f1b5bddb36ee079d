"""What the bots read about customers and policies from the policy administration: frozen value objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Line(StrEnum):
    """The insurer's lines of business, as the policy administration codes them."""

    ARK = "ARK"  # Auslandsreise-Krankenversicherung (travel health)
    KV = "KV"  # Krankenversicherung (health)
    LEBEN = "LEBEN"
    KOMPOSIT = "KOMPOSIT"


class BusinessUnit(StrEnum):
    """The business units whose clerks work the cases of their policies."""

    KRANKEN = "Kranken"
    LEBEN = "Leben"
    KOMPOSIT = "Komposit"


ACTIVE = "aktiv"  # a policy in force; others are "ruhend" (dormant) and "storniert" (cancelled)
ACCOUNT_ROLES = ("debit", "credit")


@dataclass(frozen=True)
class InsuredPerson:
    """One person insured on a policy, names exactly as recorded (as in the passport)."""

    first_name: str
    last_name: str
    birth_date: date
    role: str = ""  # VN (policy holder) | Ehepartner | Kind
    covered_from: date | None = None  # the day this person's cover begins; None: with the policy

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class TravelCover:
    """What a travel health tariff covers, as its card states it; nothing here has a default on purpose."""

    area: str  # the area of cover's code (bots.insurer.areas.Area), as shown
    sum_insured_eur: Decimal | None  # per insured person; None: unlimited
    deductible_eur: Decimal  # 0: none
    urgent_treatment: bool  # urgent outpatient treatment, medicines and dressings
    hospital: bool  # hospital treatment in an emergency
    repatriation: bool  # medically necessary repatriation
    repatriation_of_remains: bool  # repatriation of the remains after death
    direct_settlement: bool  # doctors and hospitals may bill the insurer directly


@dataclass(frozen=True)
class Tariff:
    """The policy's tariff as its card in the policy administration states it."""

    name: str
    max_trip_days: int | None = None  # travel policies: the longest trip covered; None when not stated
    travel: TravelCover | None = None  # travel policies: what the tariff covers; None on other cards


@dataclass(frozen=True)
class Account:
    """A bank account of a policy: `role` debit (premiums are collected) or credit (benefits are paid)."""

    role: str
    iban: str
    bic: str
    bank_name: str
    holder: str
    mandate_reference: str = ""  # debit: the SEPA mandate under which premiums are collected


@dataclass(frozen=True)
class AccountChange:
    """One change of a policy's account as the policy administration's history shows it."""

    role: str  # "debit" | "credit"
    old_iban: str | None  # None: the policy had no such account before
    new_iban: str
    bic: str  # of the new IBAN; "" when the system knows none (a foreign bank missing from the registry)
    at: datetime  # when, by the system's clock (aware, UTC)
    authority: str  # who ordered it: "bot" or "clerk:<name>"
    bank_name: str = ""  # of the new IBAN
    entered_by: str = ""  # the login that entered it (the robot user, or a clerk's own)


@dataclass(frozen=True)
class CriticalProcesses:
    """Business processes running on a policy during which nothing may be changed by a robot."""

    dunning_active: bool = False
    cancellation_pending: bool = False

    @property
    def running(self) -> tuple[str, ...]:
        """The codes of the processes that run now."""
        names = ("dunning_active", "cancellation_pending")
        return tuple(name for name in names if getattr(self, name))


@dataclass(frozen=True)
class Policy:
    """A policy as the policy administration shows it; `end_date` None means open-ended."""

    policy_number: str
    holder_customer_id: str
    holder_country: str  # ISO 3166-1 alpha-2 of the holder's country of residence
    line: str
    status: str
    start_date: date
    end_date: date | None
    tariff: Tariff
    insured_persons: tuple[InsuredPerson, ...]
    business_unit: str = ""
    health_department: str = ""  # KV policies: Voll | Zusatz | Pflege
    accounts: dict[str, Account | None] = field(default_factory=dict)
    critical: CriticalProcesses = CriticalProcesses()
    intermediary_customer_id: str = ""  # the customer id of the policy's intermediary (Vermittler); "": none
    account_history: tuple[AccountChange, ...] = ()  # every change of its accounts, newest first

    @property
    def in_force(self) -> bool:
        return self.status == ACTIVE

    @property
    def holder_is_intermediary(self) -> bool:
        """Whether the policy's holder is its own intermediary (no robot changes such a policy)."""
        return (
            bool(self.intermediary_customer_id) and self.intermediary_customer_id == self.holder_customer_id
        )

    def covers(self, first: date, last: date) -> bool:
        """Whether the policy runs from `first` through `last`."""
        return self.start_date <= first and (self.end_date is None or last <= self.end_date)


@dataclass(frozen=True)
class PolicyRow:
    """One line of a customer's list of policies."""

    policy_number: str
    line: str
    business_unit: str
    health_department: str
    status: str


@dataclass(frozen=True)
class Customer:
    """A customer as the policy administration shows them."""

    customer_id: str
    first_name: str
    last_name: str
    birth_date: date
    street: str
    zip: str
    city: str
    country: str  # ISO 3166-1 alpha-2 of the country of residence
    is_intermediary: bool
    policies: tuple[PolicyRow, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
