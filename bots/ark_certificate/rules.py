"""Business rules for ARK certificates: each refusal is a Reject with a German customer message.

What a certificate may state is what the policy administration shows: the trip must lie in the tariff's
area of cover (`bots.insurer.areas`), outside Germany and outside the customer's country of residence
(abroad means abroad for that person), within the tariff's longest trip and within the policy's term.

Per-person cover (decided): a certificate names only the insured persons who are covered from the first day
of the trip, i.e. whose own cover began on or before it (a child added to the policy later is covered from
then). The others are left out of the certificate and the customer's Postfach message names them with the
day their cover begins; a certificate for part of a trip would be a statement an authority cannot check
at a glance. When nobody on the policy is covered from the first day, the request is rejected saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from babel import Locale
from babel.dates import format_date

from bots.ark_certificate.request import ArkRequest
from bots.insurer.areas import INSURER_HOME, Area, area_of, covers
from bots.insurer.facts import BusinessUnit, InsuredPerson, Line, Policy
from bots.runtime.errors import HandOff, Reject

HOME_COUNTRY = INSURER_HOME
DEFAULT_MAX_PAST_DAYS = 30
# the tariff's maximum trip length when its card states none
DEFAULT_MAX_TRIP_DAYS = 42
AREA_NAMES_DE = {Area.WORLD_EXCEPT_DE: "weltweit außer Deutschland", Area.EUROPE: "Europa außer Deutschland"}


def max_trip_days(policy: Policy) -> int:
    return policy.tariff.max_trip_days or DEFAULT_MAX_TRIP_DAYS


def check(
    request: ArkRequest,
    facts: Policy | None,
    today: date,
    max_past_days: int = DEFAULT_MAX_PAST_DAYS,
) -> None:
    """Raise Reject unless a certificate may be issued; `facts` None means no such policy was found."""
    check_request(request, today, max_past_days)
    check_policy(request, facts)


def check_request(request: ArkRequest, today: date, max_past_days: int = DEFAULT_MAX_PAST_DAYS) -> None:
    """The rules that need no core system, so they can refuse even while it is offline (an end before the
    start never gets this far: the request model refuses it at the intake)."""
    if request.country == HOME_COUNTRY:
        raise Reject(
            "home_country",
            "Die Auslandsreise-Krankenversicherung gilt nur außerhalb Deutschlands; für eine Reise nach "
            "Deutschland oder innerhalb Deutschlands können wir deshalb keine Bescheinigung ausstellen. "
            "Bitte geben Sie als Reiseziel ein Land außerhalb Deutschlands an.",
        )
    earliest = today - timedelta(days=max_past_days)
    if request.travel_start < earliest:
        raise Reject(
            "start_in_past",
            f"Der angegebene Reisebeginn ({_d(request.travel_start)}) liegt mehr als {_days(max_past_days)} "
            f"zurück. Eine Bescheinigung stellen wir online nur für Reisen aus, die frühestens "
            f"am {_d(earliest)} begonnen haben. Bitte wenden Sie sich an unseren Kundenservice.",
        )


def check_policy(request: ArkRequest, facts: Policy | None) -> None:
    """The rules on the policy as the core system shows it."""
    number = request.policy_number
    if facts is None or facts.holder_customer_id != request.customer_id:
        # the same answer whether the policy is missing or someone else's: reveal nothing about it
        raise Reject(
            "not_customers_policy",
            f"Den Vertrag {number} können wir Ihrem Kundenkonto nicht zuordnen. Bitte prüfen Sie "
            "die Versicherungsscheinnummer; eine Bescheinigung können wir nur für Ihre eigenen "
            "Verträge ausstellen.",
        )
    if facts.line != Line.ARK:
        raise Reject(
            "not_ark",
            f"Der Vertrag {number} ist keine Auslandsreise-Krankenversicherung. Eine Bescheinigung "
            "für Auslandsreisen können wir nur zu einer Auslandsreise-Krankenversicherung ausstellen.",
        )
    _check_in_force(request, facts)
    days, longest = request.trip_days, max_trip_days(facts)
    if days > longest:
        raise Reject(
            "trip_too_long",
            f"Ihre Reise dauert {_days(days)}; Ihr Tarif {facts.tariff.name} versichert Reisen mit einer "
            f"Dauer von bis zu {_days(longest, dative=True)}. Für einen längeren Aufenthalt im Ausland "
            "benötigen Sie einen gesonderten Versicherungsschutz; unser Kundenservice berät Sie gern.",
        )
    _check_area(request, facts)


def _check_in_force(request: ArkRequest, facts: Policy) -> None:
    number = request.policy_number
    if not facts.in_force:
        raise Reject(
            "not_in_force",
            f"Ihr Vertrag {number} ist derzeit nicht aktiv. Daher können wir für Ihre Reise "
            f"vom {_d(request.travel_start)} bis {_d(request.travel_end)} keinen "
            "Versicherungsschutz bescheinigen.",
        )
    if facts.start_date > request.travel_start:
        raise Reject(
            "not_in_force",
            f"Ihr Vertrag {number} beginnt erst am {_d(facts.start_date)}, Ihre Reise aber schon am "
            f"{_d(request.travel_start)}. Wir können nur Versicherungsschutz für die gesamte Reise "
            "bescheinigen.",
        )
    if facts.end_date is not None and facts.end_date < request.travel_end:
        raise Reject(
            "not_in_force",
            f"Ihr Vertrag {number} endet am {_d(facts.end_date)}, Ihre Reise aber erst am "
            f"{_d(request.travel_end)}. Wir können nur Versicherungsschutz für die gesamte Reise "
            "bescheinigen.",
        )


def _check_area(request: ArkRequest, facts: Policy) -> None:
    travel = facts.tariff.travel
    area = area_of(travel.area) if travel is not None else None
    if travel is None or area is None:
        # the card states no cover this bot can read: a clerk who knows the tariff decides
        problem = (
            "die Tarifkarte nennt keinen Versicherungsumfang"
            if travel is None
            else f"der Geltungsbereich {travel.area!r} ist dem Bot unbekannt"
        )
        raise HandOff(
            BusinessUnit.KRANKEN,
            "unknown_area_of_cover",
            f"Tarif {facts.tariff.name} des Vertrags {facts.policy_number}: {problem}; Reiseziel "
            f"{request.country}. Bitte die Bescheinigung manuell prüfen und ausstellen.",
        )
    if not covers(area, request.country):
        raise Reject(
            "outside_area_of_cover",
            f"Ihr Tarif {facts.tariff.name} gilt nur im Geltungsbereich „{AREA_NAMES_DE[area]}“. Das "
            f"angegebene Reiseziel ({_country(request.country)}) liegt außerhalb dieses Geltungsbereichs; für "
            "diese Reise können wir deshalb keine Bescheinigung ausstellen. Unser Kundenservice berät Sie gern "
            "zu einem Tarif, der Ihr Reiseziel einschließt.",
        )


def check_residence(request: ArkRequest, residence: str) -> None:
    """Abroad means abroad for the insured: no certificate for a trip to the holder's country of residence."""
    if request.country == residence:
        raise Reject(
            "country_of_residence",
            f"Das angegebene Reiseziel ({_country(request.country)}) ist das Land Ihres ständigen Wohnsitzes. "
            "Die Auslandsreise-Krankenversicherung gilt nur für Reisen ins Ausland, nicht im Land Ihres "
            "Wohnsitzes; für diese Reise können wir deshalb keine Bescheinigung ausstellen.",
        )


@dataclass(frozen=True)
class Certified:
    """The insured persons a certificate names, and those left out because their cover begins later."""

    persons: tuple[InsuredPerson, ...]
    later: tuple[InsuredPerson, ...]


def cover_begins(person: InsuredPerson, policy: Policy) -> date:
    return person.covered_from or policy.start_date


def certified_persons(request: ArkRequest, facts: Policy) -> Certified:
    """Who is covered from the first day of the trip (see the module's docstring); Reject when nobody is."""
    if not facts.insured_persons:
        raise HandOff(
            BusinessUnit.KRANKEN,
            "no_insured_persons",
            f"Der ARK-Vertrag {facts.policy_number} nennt keine versicherte Person; Bescheinigung bitte prüfen.",
        )
    start = request.travel_start
    persons = tuple(p for p in facts.insured_persons if cover_begins(p, facts) <= start)
    later = tuple(p for p in facts.insured_persons if cover_begins(p, facts) > start)
    if not persons:
        names = "; ".join(f"{p.full_name} ab dem {_d(cover_begins(p, facts))}" for p in later)
        raise Reject(
            "persons_not_yet_covered",
            f"Ihre Reise beginnt am {_d(start)}, der Versicherungsschutz der versicherten Personen Ihres "
            f"Vertrags {request.policy_number} aber erst später ({names}). Eine Bescheinigung können wir "
            "nur für Personen ausstellen, die vom ersten Reisetag an versichert sind.",
        )
    return Certified(persons, later)


def _days(count: int, dative: bool = False) -> str:
    if count == 1:
        return "1 Tag"
    return f"{count} Tagen" if dative else f"{count} Tage"


def _country(code: str) -> str:
    return str(Locale("de").territories.get(code, code))


def _d(value: date) -> str:
    return format_date(value, "medium", locale="de_DE")
