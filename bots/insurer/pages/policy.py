"""The policy screen: policy data, tariff card, insured persons, bank accounts, critical processes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from playwright.sync_api import Page

from bots.insurer.facts import (
    ACCOUNT_ROLES,
    Account,
    CriticalProcesses,
    InsuredPerson,
    Line,
    Policy,
    Tariff,
    TravelCover,
)
from bots.insurer.pages.contract import Fields, LayoutChanged, Snapshot

UNLIMITED = "unlimited"  # data-value of a sum insured without a limit


class PolicyPage:
    DATA = "#policy-data"
    TARIFF = "#policy-tariff"
    PERSONS = "#insured-persons"
    PERSON_ROW = "[data-field=insured-person]"
    FLAGS = "#flags"
    ACCOUNT = "#account-{role}"

    DATA_FIELDS = ("policy-number", "line", "status", "start", "end")
    TARIFF_FIELDS = ("tariff", "holder-customer-id", "holder-country")
    # the cover of a travel tariff: every ARK card states all of it, or the bot must not certify
    TRAVEL_FIELDS = (
        "area",
        "sum-insured",
        "deductible",
        "cover-urgent-treatment",
        "cover-hospital",
        "cover-repatriation",
        "cover-repatriation-of-remains",
        "direct-settlement",
    )
    PERSON_FIELDS = ("first-name", "last-name", "birth-date", "covered-from")
    ACCOUNT_FIELDS = ("iban", "bic", "bank-name", "holder")
    FLAG_FIELDS = ("dunning-active", "cancellation-pending")

    def __init__(self, page: Page) -> None:
        self.page = page

    def read(self) -> Policy:
        """Everything the screen shows, read in one round trip."""
        sections = {
            "data": self.DATA,
            "tariff": self.TARIFF,
            "persons": self.PERSONS,
            "flags": self.FLAGS,
            **{role: self.ACCOUNT.format(role=role) for role in ACCOUNT_ROLES},
        }
        shot = Snapshot(self.page, sections, {"person": self.PERSON_ROW})
        data = shot.section("data", self.DATA_FIELDS)
        tariff = shot.section("tariff", self.TARIFF_FIELDS)
        shot.section("persons")
        flags = shot.section("flags", self.FLAG_FIELDS)
        end, max_days = data["end"], tariff.get("max-trip-days", "")
        travel = None
        if data["line"] == Line.ARK:
            travel = self._travel(shot.section("tariff", self.TRAVEL_FIELDS), shot)
        return Policy(
            policy_number=data["policy-number"],
            holder_customer_id=tariff["holder-customer-id"],
            holder_country=tariff["holder-country"],
            line=data["line"],
            status=data["status"],
            start_date=date.fromisoformat(data["start"]),
            end_date=date.fromisoformat(end) if end else None,
            tariff=Tariff(
                name=tariff["tariff"], max_trip_days=int(max_days) if max_days else None, travel=travel
            ),
            insured_persons=tuple(
                InsuredPerson(
                    row["first-name"],
                    row["last-name"],
                    date.fromisoformat(row["birth-date"]),
                    row.get("role", ""),
                    date.fromisoformat(row["covered-from"]),
                )
                for row in shot.rows("person", self.PERSON_FIELDS)
            ),
            business_unit=data.get("business-unit", ""),
            health_department=data.get("health-department", ""),
            accounts={role: self._account(shot, role) for role in ACCOUNT_ROLES},
            critical=CriticalProcesses(
                dunning_active=flags["dunning-active"] == "true",
                cancellation_pending=flags["cancellation-pending"] == "true",
            ),
        )

    def _travel(self, card: Fields, shot: Snapshot) -> TravelCover:
        def amount(name: str) -> Decimal:
            try:
                value = Decimal(card[name])
            except InvalidOperation:
                value = Decimal("NaN")
            if not value.is_finite() or value < 0:
                raise LayoutChanged(f"{self.TARIFF} [data-field={name}] reads {card[name]!r} at {shot.url}")
            return value

        def flag(name: str) -> bool:
            if card[name] not in ("true", "false"):
                raise LayoutChanged(f"{self.TARIFF} [data-field={name}] reads {card[name]!r} at {shot.url}")
            return card[name] == "true"

        return TravelCover(
            area=card["area"],
            sum_insured_eur=None if card["sum-insured"] == UNLIMITED else amount("sum-insured"),
            deductible_eur=amount("deductible"),
            urgent_treatment=flag("cover-urgent-treatment"),
            hospital=flag("cover-hospital"),
            repatriation=flag("cover-repatriation"),
            repatriation_of_remains=flag("cover-repatriation-of-remains"),
            direct_settlement=flag("direct-settlement"),
        )

    def _account(self, shot: Snapshot, role: str) -> Account | None:
        if "account-missing" in shot.section(role):
            return None
        fields = shot.section(role, self.ACCOUNT_FIELDS)
        return Account(role, fields["iban"], fields["bic"], fields["bank-name"], fields["holder"])
