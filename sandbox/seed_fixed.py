"""The hand-written customers of the seed (K100001 to K100014), in this order; sandbox.seed documents them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from sandbox.seed_catalog import KV_TARIFFS

if TYPE_CHECKING:
    from sandbox.seed import SeedBuilder

# the first two intermediaries: only customers made before a policy can be its intermediary
ZOLTAN, RENEE = "K100002", "K100005"


def fixed(b: SeedBuilder, limit: int) -> None:
    """Make the first `limit` hand-written customers."""
    for make in ORIGINAL[:limit]:
        make(b)
    # the customers added later draw their IBANs from a random source of their own: the generated
    # customers after them keep their data (their ids and policy numbers move on by four)
    with b.own_ibans():
        for make in LATER[: max(0, limit - len(ORIGINAL))]:
            make(b)


def k1(b: SeedBuilder) -> None:
    c = b.customer("Frau", "Łucja", "Öztürk-Şahin", date(1984, 3, 12), "Ehrenfeldgürtel 12", "50823", "Köln")
    family = (
        ("Emre", "Öztürk-Şahin", date(1981, 7, 30), "Ehepartner"),
        ("Zeynep", "Öztürk-Şahin", date(2012, 5, 4), "Kind"),
        ("Jan", "Öztürk-Şahin", date(2015, 11, 19), "Kind"),
    )
    b.policy(c, "ARK", "ARK-Jahr 42", "49.90", date(2019, 1, 1), max_trip_days=42,
             frequency="jährlich", family=family)  # fmt: skip
    b.policy(c, "KV", *KV_TARIFFS["Voll"], date(2018, 4, 1), department="Voll")
    b.policy(c, "LEBEN", "Risikoleben RL 20", "23.15", date(2020, 7, 1), end=date(2040, 6, 30))


def k2(b: SeedBuilder) -> None:
    c = b.customer("Herr", "Zoltán", "Kovács-Nagyő", date(1975, 9, 2), "Schillerstraße 5", "04109",
                   "Leipzig", intermediary=True)  # fmt: skip
    b.policy(c, "ARK", "ARK-Jahr Plus 56", "79.00", date(2021, 3, 1), max_trip_days=56, frequency="jährlich")
    # his own liability policy runs through his own agency: he is this policy's intermediary
    b.policy(c, "KOMPOSIT", "Privathaftpflicht PHV Top", "7.85", date(2017, 10, 1), intermediary=ZOLTAN)


def k3(b: SeedBuilder) -> None:
    c = b.customer("Frau", "Çağla", "Yıldız", date(1990, 12, 24), "Königsallee 88", "40212", "Düsseldorf")
    b.policy(c, "KV", *KV_TARIFFS["Zusatz"], date(2022, 1, 1), department="Zusatz", dunning=True)
    b.policy(c, "ARK", "ARK-Jahr Basis 42", "14.90", date(2022, 1, 1), max_trip_days=42, frequency="jährlich")


def k4(b: SeedBuilder) -> None:
    c = b.customer("Herr", "Jürgen", "Großmann", date(1958, 6, 15), "Weißdornweg 3", "33602", "Bielefeld")
    b.policy(c, "ARK", "ARK-Jahr 42", "24.90", date(2016, 1, 1), max_trip_days=42, end=date(2023, 12, 31),
             status="storniert", frequency="jährlich")  # fmt: skip
    b.policy(c, "KV", *KV_TARIFFS["Pflege"], date(2019, 9, 1), department="Pflege")
    b.policy(c, "KOMPOSIT", "Hausrat Basis", "11.90", date(2015, 5, 1), frequency="vierteljährlich")


def k5(b: SeedBuilder) -> None:
    c = b.customer("Frau", "Renée", "Dubois-Lefèvre", date(1969, 2, 28), "Rüttenscheider Straße 140",
                   "45131", "Essen", intermediary=True)  # fmt: skip
    b.policy(c, "LEBEN", "Rente Klassik", "150.00", date(2004, 12, 1), intermediary=ZOLTAN)
    b.policy(c, "KOMPOSIT", "Wohngebäude Premium", "612.00", date(2010, 1, 1), frequency="jährlich",
             cancellation=True, intermediary=ZOLTAN)  # fmt: skip


def k6(b: SeedBuilder) -> None:
    c = b.customer("Herr", "José", "Núñez García", date(1979, 10, 10), "Münsterstraße 201", "44145",
                   "Dortmund")  # fmt: skip
    for department in ("Voll", "Zusatz", "Pflege"):
        b.policy(
            c, "KV", *KV_TARIFFS[department], date(2014, 2, 1), department=department, intermediary=RENEE
        )


def k7(b: SeedBuilder) -> None:
    c = b.customer("Frau Dr.", "Małgorzata", "Wiśniewska-Kühn", date(1972, 4, 4), "Hohenzollernring 9",
                   "50672", "Köln")  # fmt: skip
    b.policy(c, "ARK", "ARK-Europa 42", "12.90", date(2020, 6, 1), max_trip_days=42, frequency="jährlich")
    b.policy(c, "KV", *KV_TARIFFS["Zusatz"], date(2020, 6, 1), department="Zusatz")


def k8(b: SeedBuilder) -> None:
    c = b.customer("Frau", "Ágnes", "Szőke", date(1988, 8, 8), "Mariahilfer Straße 47", "1060", "Wien",
                   country="AT")  # fmt: skip
    b.policy(c, "ARK", "ARK-Jahr 42", "19.90", date(2023, 1, 1), max_trip_days=42, frequency="jährlich")
    b.policy(c, "LEBEN", "Berufsunfähigkeit BU Plus", "64.80", date(2013, 8, 1), intermediary=RENEE)
    b.policy(c, "KOMPOSIT", "Kfz-Haftpflicht", "38.70", date(2021, 4, 1))


def k9(b: SeedBuilder) -> None:
    c = b.customer("Frau", "Inès", "Weiß", date(1995, 1, 31), "Fürstenwall 17", "40219", "Düsseldorf")
    family = (
        ("Noah", "Weiß", date(1993, 6, 2), "Ehepartner"),
        ("Mila", "Weiß", date(2021, 9, 14), "Kind"),
        ("Ella", "Weiß", date(2018, 3, 11), "Kind", date(2027, 1, 1)),  # joins the household
    )
    b.policy(c, "ARK", "ARK-Jahr Plus 56", "89.00", date(2022, 4, 1), max_trip_days=56,
             frequency="jährlich", family=family)  # fmt: skip
    b.policy(c, "KV", *KV_TARIFFS["Zusatz"], date(2021, 1, 1), department="Zusatz", status="ruhend")


def k10(b: SeedBuilder) -> None:
    c = b.customer("Herr", "Şükrü", "Çelik", date(1966, 11, 11), "Bahnhofstraße 1", "45879",
                   "Gelsenkirchen")  # fmt: skip
    b.policy(c, "ARK", "ARK-Jahr 42", "24.90", date(2018, 1, 1), max_trip_days=42, frequency="jährlich")
    b.policy(c, "KV", *KV_TARIFFS["Voll"], date(2000, 1, 1), department="Voll")
    b.policy(c, "LEBEN", "Risikoleben RL 20", "31.60", date(2011, 3, 1), dunning=True, intermediary=ZOLTAN)


# -- the bank change cases (issue 11) ---------------------------------------------------------------


def k11(b: SeedBuilder) -> None:
    """One clean policy: household contents insurance with a debit and a credit account."""
    c = b.customer(
        "Frau", "Dörte", "Hähnel", date(1981, 2, 14), "Graf-Adolf-Straße 61", "40210", "Düsseldorf"
    )
    b.policy(c, "KOMPOSIT", "Hausrat Basis", "11.90", date(2016, 9, 1), credit=True)


def k12(b: SeedBuilder) -> None:
    """Two clean policies in two business units, both with debit and credit accounts."""
    c = b.customer("Herr", "Björn", "Sørensen-Groß", date(1977, 5, 23), "Mönckebergstraße 7", "20095",
                   "Hamburg")  # fmt: skip
    b.policy(c, "LEBEN", "Berufsunfähigkeit BU Plus", "64.80", date(2012, 4, 1), intermediary=ZOLTAN)
    b.policy(c, "KV", *KV_TARIFFS["Voll"], date(2009, 1, 1), department="Voll", intermediary=ZOLTAN)


def k13(b: SeedBuilder) -> None:
    """An intermediary: her own pension policy runs through her own agency (critical), her liability
    policy through another intermediary (not critical)."""
    c = b.customer("Frau", "Réka", "Tóth-Meißner", date(1983, 10, 3), "Ludgeristraße 22", "48143", "Münster",
                   intermediary=True)  # fmt: skip
    b.policy(c, "LEBEN", "Rente Klassik", "120.00", date(2015, 1, 1), intermediary=c.customer_id)
    b.policy(c, "KOMPOSIT", "Privathaftpflicht PHV Top", "7.85", date(2018, 3, 1), credit=True,
             intermediary=RENEE)  # fmt: skip


def k14(b: SeedBuilder) -> None:
    """A life policy with a cancellation pending, both accounts, and a clean care policy."""
    c = b.customer("Herr", "Oğuz", "Kılıç", date(1970, 7, 7), "Kampstraße 40", "44137", "Dortmund")
    b.policy(c, "LEBEN", "Risikoleben RL 20", "27.40", date(2010, 5, 1), cancellation=True)
    b.policy(c, "KV", *KV_TARIFFS["Pflege"], date(2019, 1, 1), department="Pflege")


ORIGINAL: tuple[Callable[[SeedBuilder], None], ...] = (k1, k2, k3, k4, k5, k6, k7, k8, k9, k10)
LATER: tuple[Callable[[SeedBuilder], None], ...] = (k11, k12, k13, k14)
