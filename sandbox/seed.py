"""Deterministic seed data: invented customers with European names, policies, insured persons, accounts.

The first fourteen customers are written by hand (sandbox.seed_fixed) so tests and demos can rely on them.
"Intermediary" is twofold: a customer may also be an intermediary (Customer.is_intermediary, the customer
page's [df=intermediary]), and a policy may be looked after by an intermediary, a customer who is one
(Policy.intermediary_id here, the policy page's [df=intermediary-customer-id], the page objects'
Policy.intermediary_customer_id); the critical case for changes is a policy whose intermediary is its own
holder (Policy.holder_is_intermediary). Kranken and Leben policies have a debit and a credit account,
Komposit policies a debit account only, except the ones marked "with credit".

- K100001 Łucja Öztürk-Şahin: family ARK policy ARK-4711-0001 with 4 insured persons, KV Voll, Leben.
- K100002 Zoltán Kovács-Nagyő: intermediary; ARK-4711-0002 with max trip length 56 days (no
  intermediary); Komposit KO-4714-0001 of which he is the intermediary himself.
- K100003 Çağla Yıldız: KV Zusatz KV-4712-0002 in dunning (dunning_active); ARK on the basic tariff
  (a sum insured, a deductible, no direct settlement, no repatriation of remains).
- K100004 Jürgen Großmann: ARK-4711-0004 ended 2023-12-31 (storniert); KV Pflege; Komposit.
- K100005 Renée Dubois-Lefèvre: intermediary; Leben LV-4713-0002 (intermediary K100002); Komposit
  KO-4714-0003 with cancellation pending.
- K100006 José Núñez García: three KV policies, one per Krankenbereich (Voll, Zusatz, Pflege).
- K100007 Małgorzata Wiśniewska-Kühn: ARK covering Europe only; KV Zusatz.
- K100008 Ágnes Szőke: lives in Vienna (AT); ARK, Leben, Komposit.
- K100009 Inès Weiß: family ARK with 4 insured persons, the child Ella covered only from 2027-01-01;
  a resting (ruhend) KV Zusatz.
- K100010 Şükrü Çelik: ARK, KV Voll, Leben LV-4713-0004 in dunning.

The bank change cases (issue 11; K100011 to K100014 were added after the first ten):

- K100011 Dörte Hähnel: one clean policy, Komposit KO-4714-0005 (Hausrat) with credit.
- K100012 Björn Sørensen-Groß: two clean policies, Leben LV-4713-0005 and Kranken KV-4712-0010 (KV Voll),
  both with intermediary K100002.
- K100013 Réka Tóth-Meißner: intermediary; Leben LV-4713-0006 of which she is the intermediary herself
  (critical); clean Komposit KO-4714-0006 with credit (intermediary K100005).
- K100014 Oğuz Kılıç: Leben LV-4713-0007 with cancellation pending; clean Kranken KV-4712-0011 (Pflege).

Clean (no critical process, both accounts) besides: ARK-4711-0001, KV-4712-0001, LV-4713-0001 (K100001),
ARK-4711-0005 and KV-4712-0007 (K100007), LV-4713-0003 (K100008). Dunning: KV-4712-0002 (Kranken, K100003),
LV-4713-0004 (Leben, K100010). Cancellation pending: KO-4714-0003 (Komposit, K100005), LV-4713-0007
(Leben, K100014). Holder is the policy's intermediary: KO-4714-0001 (Komposit, K100002), LV-4713-0006
(Leben, K100013).

All further customers (K100015 on) come from name pools and a seeded random source; their ARK policies
draw from all travel tariffs (TRAVEL_TARIFFS: worldwide or Europe, unlimited or a sum insured, with or
without deductible); a generated intermediary's own policies run through their own agency.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from schwifty import IBAN

from sandbox.data import SandboxDB
from sandbox.models import UNIT_OF_LINE, Account, Customer, InsuredPerson, Policy, TravelTariff
from sandbox.seed_catalog import (
    ARK_TARIFFS,
    BANK_CODES,
    FEMALE,
    FREQUENCIES,
    KV_TARIFFS,
    LIFE_TARIFFS,
    MALE,
    PC_TARIFFS,
    PLACES,
    PREFIX,
    SURNAMES,
    TRAVEL_TARIFFS,
)
from sandbox.seed_fixed import fixed

__all__ = ["TRAVEL_TARIFFS", "SeedSummary", "policy_record", "seed", "summarize"]


@dataclass(frozen=True)
class SeedSummary:
    """What is in the sandbox after seeding: counts and every customer with its policies."""

    rng_seed: int
    customers: tuple[dict[str, Any], ...]

    @property
    def policy_count(self) -> int:
        return sum(len(c["policies"]) for c in self.customers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rng_seed": self.rng_seed,
            "customer_count": len(self.customers),
            "policy_count": self.policy_count,
            "customers": list(self.customers),
        }

    def summary_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def seed(db: SandboxDB, customers: int, rng_seed: int = 7) -> SeedSummary:
    """Replace the sandbox's data by `customers` invented customers; the same inputs give the same data."""
    if customers < 0:
        raise ValueError("customers must be >= 0")
    builder = SeedBuilder(random.Random(rng_seed), rng_seed)
    fixed(builder, limit=customers)
    while len(builder.customers) < customers:
        builder.generated()
    db.clear()
    db.insert(builder.customers, builder.policies, builder.insured, builder.accounts, TRAVEL_TARIFFS)
    return summarize(db, rng_seed)


def summarize(db: SandboxDB, rng_seed: int = 7) -> SeedSummary:
    """Read the sandbox's customers and policies back as a SeedSummary."""
    records = []
    for customer in db.all_customers():
        policies = [
            policy_record(
                p,
                db.insured_persons(p.policy_number),
                db.accounts(p.policy_number),
                db.travel_tariff(p.tariff),
            )
            for p in db.policies_of(customer.customer_id)
        ]
        records.append(
            {
                "customer_id": customer.customer_id,
                "title": customer.title,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "birth_date": customer.birth_date.isoformat(),
                "address": f"{customer.street}, {customer.zip} {customer.city}, {customer.country}",
                "country": customer.country,
                "email": customer.email,
                "is_intermediary": customer.is_intermediary,
                "policies": policies,
            }
        )
    return SeedSummary(rng_seed=rng_seed, customers=tuple(records))


def policy_record(
    policy: Policy, insured: list[InsuredPerson], accounts: list[Account], travel: TravelTariff | None = None
) -> dict[str, Any]:
    """A policy as plain JSON; `travel_cover` is the travel tariff's cover (null for other tariffs)."""
    return {
        "policy_number": policy.policy_number,
        "line": policy.line,
        "business_unit": policy.business_unit,
        "health_department": policy.health_department,
        "status": policy.status,
        "start_date": policy.start_date.isoformat(),
        "end_date": policy.end_date.isoformat() if policy.end_date else None,
        "tariff": policy.tariff,
        "max_trip_days": policy.max_trip_days,
        "travel_cover": travel_record(travel) if travel else None,
        "premium": str(policy.premium),
        "payment_frequency": policy.payment_frequency,
        "dunning_active": policy.dunning_active,
        "cancellation_pending": policy.cancellation_pending,
        "intermediary_id": policy.intermediary_id,
        "insured_persons": [
            {
                "first_name": p.first_name,
                "last_name": p.last_name,
                "birth_date": p.birth_date.isoformat(),
                "role": p.role,
                "covered_from": p.covered_from.isoformat(),
            }
            for p in insured
        ],
        "accounts": [
            {"role": a.role, "holder": a.holder, "iban": a.iban, "bic": a.bic, "bank_name": a.bank_name}
            for a in accounts
        ],
    }


def travel_record(travel: TravelTariff) -> dict[str, Any]:
    values = vars(travel).copy()
    del values["tariff"]
    for key in ("sum_insured", "deductible"):
        values[key] = None if values[key] is None else str(values[key])
    return values


def email_for(first_name: str, last_name: str) -> str:
    """An invented address on a reserved test domain, ASCII only."""

    def ascii_part(text: str) -> str:
        text = text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L").replace("ø", "o").replace("Ø", "O")
        text = text.replace("ı", "i")
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == "-")

    return f"{ascii_part(first_name)}.{ascii_part(last_name)}@kunden.portalbots.test"


# an insured person besides the policy holder: first name, last name, birth date, role and, for a person
# added to the policy later, the day their cover begins
Member = tuple[str, str, date, str] | tuple[str, str, date, str, date]


class SeedBuilder:
    """Collects customers, policies, insured persons and accounts in creation order."""

    def __init__(self, rng: random.Random, rng_seed: int) -> None:
        self.rng = rng
        self.iban_rng = rng  # where the IBANs' random account numbers come from
        self.rng_seed = rng_seed
        self.customers: list[Customer] = []
        self.policies: list[Policy] = []
        self.insured: list[InsuredPerson] = []
        self.accounts: list[Account] = []
        self.counters = dict.fromkeys(PREFIX, 0)

    # -- building blocks -----------------------------------------------------------------------

    def customer(
        self,
        title: str,
        first: str,
        last: str,
        born: date,
        street: str,
        zip_code: str,
        city: str,
        country: str = "DE",
        intermediary: bool = False,
    ) -> Customer:
        customer = Customer(
            customer_id=f"K{100001 + len(self.customers)}",
            title=title,
            first_name=first,
            last_name=last,
            birth_date=born,
            street=street,
            zip=zip_code,
            city=city,
            country=country,
            email=email_for(first, last),
            is_intermediary=intermediary,
        )
        self.customers.append(customer)
        return customer

    def policy(
        self,
        owner: Customer,
        line: str,
        tariff: str,
        premium: str,
        start: date,
        *,
        department: str | None = None,
        max_trip_days: int | None = None,
        end: date | None = None,
        status: str = "aktiv",
        frequency: str = "monatlich",
        dunning: bool = False,
        cancellation: bool = False,
        family: tuple[Member, ...] = (),
        intermediary: str | None = None,
        credit: bool | None = None,
    ) -> Policy:
        """A policy of `owner`; `intermediary` the customer id of an intermediary made before; `credit`
        whether it has a credit account besides the debit account (default: all but Komposit)."""
        self.counters[line] += 1
        policy = Policy(
            policy_number=f"{PREFIX[line]}-{self.counters[line]:04d}",
            customer_id=owner.customer_id,
            line=line,
            business_unit=UNIT_OF_LINE[line],
            health_department=department,
            status=status,
            start_date=start,
            end_date=end,
            tariff=tariff,
            max_trip_days=max_trip_days,
            premium=Decimal(premium),
            payment_frequency=frequency,
            dunning_active=dunning,
            cancellation_pending=cancellation,
            intermediary_id=intermediary,
        )
        self.policies.append(policy)
        if line in ("ARK", "KV", "LEBEN"):
            self.insured.append(
                InsuredPerson(
                    policy.policy_number, owner.first_name, owner.last_name, owner.birth_date, "VN", start
                )
            )
            for first, last, born, role, *later in family:
                covered = later[0] if later else start
                self.insured.append(InsuredPerson(policy.policy_number, first, last, born, role, covered))
        holder = owner.name
        self.accounts.append(self.account(policy.policy_number, "debit", holder))
        if (line != "KOMPOSIT") if credit is None else credit:
            self.accounts.append(self.account(policy.policy_number, "credit", holder))
        return policy

    def account(self, policy_number: str, role: str, holder: str) -> Account:
        rng = self.iban_rng
        bank_code = rng.choice(BANK_CODES)
        iban = IBAN.generate("DE", bank_code=bank_code, account_code=str(rng.randrange(10**8, 10**10)))
        return Account(policy_number, role, holder, str(iban), str(iban.bic or ""), str(iban.bank_name or ""))

    @contextmanager
    def own_ibans(self) -> Iterator[None]:
        """IBANs from a random source of their own meanwhile, so the shared one (and all it draws later)
        stays as it was."""
        self.iban_rng = random.Random(self.rng_seed + 1_000_003)
        try:
            yield
        finally:
            self.iban_rng = self.rng

    # -- the generated rest --------------------------------------------------------------------

    def generated(self) -> None:
        rng = self.rng
        female = rng.random() < 0.5
        first = rng.choice(FEMALE if female else MALE)
        last = rng.choice(SURNAMES)
        if rng.random() < 0.15:
            last = f"{last}-{rng.choice(SURNAMES)}"
        zip_code, city, street = rng.choice(PLACES)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        c = self.customer(
            ("Frau" if female else "Herr") + (" Dr." if rng.random() < 0.06 else ""),
            first,
            last,
            born,
            f"{street} {rng.randrange(1, 180)}",
            zip_code,
            city,
            intermediary=rng.random() < 0.05,
        )
        agency = c.customer_id if c.is_intermediary else None  # an intermediary's own policies
        for line in sorted(
            set(rng.choices(("ARK", "KV", "LEBEN", "KOMPOSIT"), k=rng.choice((1, 1, 2, 2, 3, 4))))
        ):
            start = date(2000, 1, 1) + timedelta(days=30 * rng.randrange(300))
            ended = rng.random() < 0.08
            common: dict[str, Any] = {
                "status": "storniert" if ended else ("ruhend" if rng.random() < 0.03 else "aktiv"),
                "end": date(2024, 12, 31) if ended and start < date(2024, 1, 1) else None,
                "dunning": rng.random() < 0.08,
                "cancellation": rng.random() < 0.04,
                "frequency": rng.choice(FREQUENCIES),
            }
            if common["status"] == "storniert" and common["end"] is None:
                common["status"] = "aktiv"
            if line == "ARK":
                tariff, days = rng.choice(ARK_TARIFFS)
                family = self._family(last) if rng.random() < 0.3 else ()
                self.policy(c, "ARK", tariff, "49.90" if family else "19.90", start, max_trip_days=days,
                            family=family, intermediary=agency, **common)  # fmt: skip
            elif line == "KV":
                department = rng.choice(("Voll", "Zusatz", "Zusatz", "Pflege"))
                self.policy(
                    c,
                    "KV",
                    *KV_TARIFFS[department],
                    start,
                    department=department,
                    intermediary=agency,
                    **common,
                )
            elif line == "LEBEN":
                self.policy(c, "LEBEN", *rng.choice(LIFE_TARIFFS), start, intermediary=agency, **common)
            else:
                self.policy(c, "KOMPOSIT", *rng.choice(PC_TARIFFS), start, intermediary=agency, **common)

    def _family(self, last: str) -> tuple[Member, ...]:
        rng = self.rng
        members: list[Member] = [
            (
                rng.choice(FEMALE + MALE),
                last,
                date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40)),
                "Ehepartner",
            )
        ]
        for _ in range(rng.randrange(0, 3)):
            born = date(2005, 1, 1) + timedelta(days=rng.randrange(365 * 18))
            members.append((rng.choice(FEMALE + MALE), last, born, "Kind"))
        return tuple(members)
