"""Business rules for ARK certificates: each refusal is a Reject with a German customer message."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date

from bots.ark_certificate.request import ArkRequest
from bots.insurer.facts import Line, Policy
from bots.runtime.errors import Reject

HOME_COUNTRY = "DE"
DEFAULT_MAX_PAST_DAYS = 30
# the tariff's maximum trip length when its card states none
DEFAULT_MAX_TRIP_DAYS = 42


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
            "Die Auslandsreise-Krankenversicherung gilt nur für Reisen ins Ausland; für eine Reise "
            "innerhalb Deutschlands können wir deshalb keine Bescheinigung ausstellen. Bitte geben "
            "Sie als Reiseziel ein Land außerhalb Deutschlands an.",
        )
    earliest = today - timedelta(days=max_past_days)
    if request.travel_start < earliest:
        raise Reject(
            "start_in_past",
            f"Der angegebene Reisebeginn ({_d(request.travel_start)}) liegt mehr als {max_past_days} "
            f"Tage zurück. Eine Bescheinigung stellen wir online nur für Reisen aus, die frühestens "
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
            f"Ihre Reise dauert {days} Tage; Ihr Tarif {facts.tariff.name} versichert Reisen bis "
            f"{longest} Tage. Für einen längeren Aufenthalt im Ausland benötigen Sie "
            "einen gesonderten Versicherungsschutz; unser Kundenservice berät Sie gern.",
        )


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


def _d(value: date) -> str:
    return format_date(value, "medium", locale="de_DE")
