"""What the ARK certificate bot reads about a policy from the core system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ARK_LINE = "ARK"
ACTIVE_STATUS = "aktiv"
# the tariff's maximum trip length when the core system states none
DEFAULT_MAX_TRIP_DAYS = 42


@dataclass(frozen=True)
class InsuredPerson:
    """One person insured on a policy, names exactly as recorded (as in the passport)."""

    first_name: str
    last_name: str
    birth_date: date

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class PolicyFacts:
    """A policy as the policy administration shows it; `end_date` None means open-ended."""

    policy_number: str
    holder_customer_id: str
    line: str
    status: str
    start_date: date
    end_date: date | None
    tariff_name: str
    insured_persons: tuple[InsuredPerson, ...]
    max_trip_days: int = DEFAULT_MAX_TRIP_DAYS
    minimum_cover_eur: Decimal = Decimal(30000)
    deductible_eur: Decimal = Decimal(0)
