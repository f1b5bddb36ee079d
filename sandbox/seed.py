"""Deterministic seed data: invented customers with European names, policies, insured persons, accounts.

The first ten customers are written by hand so tests and demos can rely on them:

- K100001 Łucja Öztürk-Şahin: family ARK policy ARK-4711-0001 with 4 insured persons, KV Voll, Leben.
- K100002 Zoltán Kovács-Nagyő: intermediary; ARK-4711-0002 with max trip length 56 days; Komposit.
- K100003 Çağla Yıldız: KV Zusatz KV-4712-0002 in dunning (dunning_active); ARK on the basic tariff
  (a sum insured, a deductible, no direct settlement, no repatriation of remains).
- K100004 Jürgen Großmann: ARK-4711-0004 ended 2023-12-31 (storniert); KV Pflege; Komposit.
- K100005 Renée Dubois-Lefèvre: intermediary; Leben; Komposit KO-4714-0003 with cancellation pending.
- K100006 José Núñez García: three KV policies, one per Krankenbereich (Voll, Zusatz, Pflege).
- K100007 Małgorzata Wiśniewska-Kühn: ARK covering Europe only; KV Zusatz.
- K100008 Ágnes Szőke: lives in Vienna (AT); ARK, Leben, Komposit.
- K100009 Inès Weiß: family ARK with 4 insured persons, the child Ella covered only from 2027-01-01;
  a resting (ruhend) KV Zusatz.
- K100010 Şükrü Çelik: ARK, KV Voll, Leben LV-4713-0004 in dunning.

All further customers come from name pools and a seeded random source; their ARK policies draw from all
travel tariffs (TRAVEL_TARIFFS: worldwide or Europe, unlimited or a sum insured, with or without deductible).
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from schwifty import IBAN

from sandbox.data import SandboxDB
from sandbox.models import UNIT_OF_LINE, Account, Customer, InsuredPerson, Policy, TravelTariff

# real bank codes, invented account numbers: syntactically valid, clearly test data
BANK_CODES = ("37040044", "10010010", "50010517", "20041133", "43060967")
PREFIX = {"ARK": "ARK-4711", "KV": "KV-4712", "LEBEN": "LV-4713", "KOMPOSIT": "KO-4714"}
# what each travel tariff covers: area, sum insured (None: unlimited), deductible, then urgent treatment,
# hospital, repatriation, repatriation of remains, direct settlement
TRAVEL_TARIFFS = (
    TravelTariff("ARK-Jahr 42", "WORLD_EXCEPT_DE", None, Decimal(0), True, True, True, True, True),
    TravelTariff("ARK-Jahr Plus 56", "WORLD_EXCEPT_DE", None, Decimal(0), True, True, True, True, True),
    TravelTariff("ARK-Europa 42", "EUROPE", Decimal(250_000), Decimal(0), True, True, True, True, True),
    TravelTariff(
        "ARK-Jahr Basis 42", "WORLD_EXCEPT_DE", Decimal(100_000), Decimal(150), True, True, True, False, False
    ),
)
ARK_TARIFFS = (
    ("ARK-Jahr 42", 42),
    ("ARK-Jahr Plus 56", 56),
    ("ARK-Europa 42", 42),
    ("ARK-Jahr Basis 42", 42),
)
KV_TARIFFS = {
    "Voll": ("KV-Komfort 100", "489.37"),
    "Zusatz": ("KV-Zahn Zusatz ZE90", "32.40"),
    "Pflege": ("PflegeTagegeld PT 60", "41.20"),
}
LIFE_TARIFFS = (
    ("Risikoleben RL 20", "23.15"),
    ("Rente Klassik", "150.00"),
    ("Berufsunfähigkeit BU Plus", "64.80"),
)
PC_TARIFFS = (
    ("Privathaftpflicht PHV Top", "7.85"),
    ("Hausrat Basis", "11.90"),
    ("Wohngebäude Premium", "612.00"),
    ("Kfz-Haftpflicht", "38.70"),
)
FREQUENCIES = ("monatlich", "vierteljährlich", "halbjährlich", "jährlich")

FEMALE = (
    "Anna", "Łucja", "Zofia", "Małgorzata", "Zsófia", "Ayşe", "Elif", "Chloé", "Inès", "Agnieszka",
    "Jülide", "Renée", "Maëlle", "Ágnes", "Réka", "Nuria", "Begoña", "Annegret", "Gülşen", "Françoise",
    "Hélène", "Dörte", "Bärbel", "Søs", "Ingrid",
)  # fmt: skip
MALE = (
    "Jürgen", "Lukas", "Paweł", "Łukasz", "Gábor", "Ferenc", "Mehmet", "Barış", "Oğuz", "François",
    "Joël", "José", "Íñigo", "Jörg", "Günther", "Sören", "Björn", "Zoltán", "Miklós", "Çetin",
    "Uwe", "Matthias", "Niklas", "Ramón", "Ødvar",
)  # fmt: skip
SURNAMES = (
    "Müller", "Schäfer", "Weiß", "Groß", "Krüger", "Köhler", "Böhm", "Voß", "Meißner", "Strauß",
    "Nowak", "Wójcik", "Kowalczyk", "Łukaszewicz", "Kovács", "Szőke", "Tóth", "Horváth", "Öztürk",
    "Şahin", "Çelik", "Yılmaz", "Doğan", "Kılıç", "Lefèvre", "Dubois", "Bérénger", "Núñez", "García",
    "Muñoz", "Peña", "Sørensen", "Ørsted", "Hähnel", "Jäger", "Fußmann", "Dvořák", "Novák",
)  # fmt: skip
PLACES = (
    ("50823", "Köln", "Venloer Straße"), ("40212", "Düsseldorf", "Graf-Adolf-Straße"),
    ("44135", "Dortmund", "Kampstraße"), ("45127", "Essen", "Kettwiger Straße"),
    ("48143", "Münster", "Ludgeristraße"), ("33602", "Bielefeld", "Niedernstraße"),
    ("53111", "Bonn", "Poststraße"), ("52062", "Aachen", "Großkölnstraße"),
    ("47051", "Duisburg", "Königstraße"), ("42103", "Wuppertal", "Schloßbleiche"),
    ("37073", "Göttingen", "Weender Straße"), ("80331", "München", "Sendlinger Straße"),
    ("10115", "Berlin", "Chausseestraße"), ("20095", "Hamburg", "Mönckebergstraße"),
)  # fmt: skip


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
    builder = _Builder(random.Random(rng_seed))
    builder.fixed(limit=customers)
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


class _Builder:
    """Collects customers, policies, insured persons and accounts in creation order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
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
    ) -> Policy:
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
        if line != "KOMPOSIT":
            self.accounts.append(self.account(policy.policy_number, "credit", holder))
        return policy

    def account(self, policy_number: str, role: str, holder: str) -> Account:
        bank_code = self.rng.choice(BANK_CODES)
        iban = IBAN.generate("DE", bank_code=bank_code, account_code=str(self.rng.randrange(10**8, 10**10)))
        return Account(policy_number, role, holder, str(iban), str(iban.bic or ""), str(iban.bank_name or ""))

    # -- the hand-written customers ------------------------------------------------------------

    def fixed(self, limit: int) -> None:
        makers = (
            self._k1, self._k2, self._k3, self._k4, self._k5, self._k6, self._k7, self._k8, self._k9, self._k10,
        )  # fmt: skip
        for make in makers[:limit]:
            make()

    def _k1(self) -> None:
        c = self.customer(
            "Frau", "Łucja", "Öztürk-Şahin", date(1984, 3, 12), "Ehrenfeldgürtel 12", "50823", "Köln"
        )
        family = (
            ("Emre", "Öztürk-Şahin", date(1981, 7, 30), "Ehepartner"),
            ("Zeynep", "Öztürk-Şahin", date(2012, 5, 4), "Kind"),
            ("Jan", "Öztürk-Şahin", date(2015, 11, 19), "Kind"),
        )
        self.policy(c, "ARK", "ARK-Jahr 42", "49.90", date(2019, 1, 1), max_trip_days=42,
                    frequency="jährlich", family=family)  # fmt: skip
        self.policy(c, "KV", *KV_TARIFFS["Voll"], date(2018, 4, 1), department="Voll")
        self.policy(c, "LEBEN", "Risikoleben RL 20", "23.15", date(2020, 7, 1), end=date(2040, 6, 30))

    def _k2(self) -> None:
        c = self.customer("Herr", "Zoltán", "Kovács-Nagyő", date(1975, 9, 2), "Schillerstraße 5", "04109",
                          "Leipzig", intermediary=True)  # fmt: skip
        self.policy(
            c, "ARK", "ARK-Jahr Plus 56", "79.00", date(2021, 3, 1), max_trip_days=56, frequency="jährlich"
        )
        self.policy(c, "KOMPOSIT", "Privathaftpflicht PHV Top", "7.85", date(2017, 10, 1))

    def _k3(self) -> None:
        c = self.customer(
            "Frau", "Çağla", "Yıldız", date(1990, 12, 24), "Königsallee 88", "40212", "Düsseldorf"
        )
        self.policy(c, "KV", *KV_TARIFFS["Zusatz"], date(2022, 1, 1), department="Zusatz", dunning=True)
        self.policy(
            c, "ARK", "ARK-Jahr Basis 42", "14.90", date(2022, 1, 1), max_trip_days=42, frequency="jährlich"
        )

    def _k4(self) -> None:
        c = self.customer(
            "Herr", "Jürgen", "Großmann", date(1958, 6, 15), "Weißdornweg 3", "33602", "Bielefeld"
        )
        self.policy(c, "ARK", "ARK-Jahr 42", "24.90", date(2016, 1, 1), max_trip_days=42, end=date(2023, 12, 31),
                    status="storniert", frequency="jährlich")  # fmt: skip
        self.policy(c, "KV", *KV_TARIFFS["Pflege"], date(2019, 9, 1), department="Pflege")
        self.policy(c, "KOMPOSIT", "Hausrat Basis", "11.90", date(2015, 5, 1), frequency="vierteljährlich")

    def _k5(self) -> None:
        c = self.customer("Frau", "Renée", "Dubois-Lefèvre", date(1969, 2, 28), "Rüttenscheider Straße 140",
                          "45131", "Essen", intermediary=True)  # fmt: skip
        self.policy(c, "LEBEN", "Rente Klassik", "150.00", date(2004, 12, 1))
        self.policy(c, "KOMPOSIT", "Wohngebäude Premium", "612.00", date(2010, 1, 1), frequency="jährlich",
                    cancellation=True)  # fmt: skip

    def _k6(self) -> None:
        c = self.customer("Herr", "José", "Núñez García", date(1979, 10, 10), "Münsterstraße 201", "44145",
                          "Dortmund")  # fmt: skip
        for department in ("Voll", "Zusatz", "Pflege"):
            self.policy(c, "KV", *KV_TARIFFS[department], date(2014, 2, 1), department=department)

    def _k7(self) -> None:
        c = self.customer("Frau Dr.", "Małgorzata", "Wiśniewska-Kühn", date(1972, 4, 4), "Hohenzollernring 9",
                          "50672", "Köln")  # fmt: skip
        self.policy(
            c, "ARK", "ARK-Europa 42", "12.90", date(2020, 6, 1), max_trip_days=42, frequency="jährlich"
        )
        self.policy(c, "KV", *KV_TARIFFS["Zusatz"], date(2020, 6, 1), department="Zusatz")

    def _k8(self) -> None:
        c = self.customer("Frau", "Ágnes", "Szőke", date(1988, 8, 8), "Mariahilfer Straße 47", "1060", "Wien",
                          country="AT")  # fmt: skip
        self.policy(
            c, "ARK", "ARK-Jahr 42", "19.90", date(2023, 1, 1), max_trip_days=42, frequency="jährlich"
        )
        self.policy(c, "LEBEN", "Berufsunfähigkeit BU Plus", "64.80", date(2013, 8, 1))
        self.policy(c, "KOMPOSIT", "Kfz-Haftpflicht", "38.70", date(2021, 4, 1))

    def _k9(self) -> None:
        c = self.customer("Frau", "Inès", "Weiß", date(1995, 1, 31), "Fürstenwall 17", "40219", "Düsseldorf")
        family = (
            ("Noah", "Weiß", date(1993, 6, 2), "Ehepartner"),
            ("Mila", "Weiß", date(2021, 9, 14), "Kind"),
            ("Ella", "Weiß", date(2018, 3, 11), "Kind", date(2027, 1, 1)),  # joins the household
        )
        self.policy(c, "ARK", "ARK-Jahr Plus 56", "89.00", date(2022, 4, 1), max_trip_days=56,
                    frequency="jährlich", family=family)  # fmt: skip
        self.policy(c, "KV", *KV_TARIFFS["Zusatz"], date(2021, 1, 1), department="Zusatz", status="ruhend")

    def _k10(self) -> None:
        c = self.customer("Herr", "Şükrü", "Çelik", date(1966, 11, 11), "Bahnhofstraße 1", "45879",
                          "Gelsenkirchen")  # fmt: skip
        self.policy(
            c, "ARK", "ARK-Jahr 42", "24.90", date(2018, 1, 1), max_trip_days=42, frequency="jährlich"
        )
        self.policy(c, "KV", *KV_TARIFFS["Voll"], date(2000, 1, 1), department="Voll")
        self.policy(c, "LEBEN", "Risikoleben RL 20", "31.60", date(2011, 3, 1), dunning=True)

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
                            family=family, **common)  # fmt: skip
            elif line == "KV":
                department = rng.choice(("Voll", "Zusatz", "Zusatz", "Pflege"))
                self.policy(c, "KV", *KV_TARIFFS[department], start, department=department, **common)
            elif line == "LEBEN":
                self.policy(c, "LEBEN", *rng.choice(LIFE_TARIFFS), start, **common)
            else:
                self.policy(c, "KOMPOSIT", *rng.choice(PC_TARIFFS), start, **common)

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
