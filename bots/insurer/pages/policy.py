"""The policy screen: policy data, tariff card, insured persons, bank accounts, critical processes."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from playwright.sync_api import Page, Response

from bots.insurer.facts import (
    ACCOUNT_ROLES,
    Account,
    AccountChange,
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
    ACCOUNT_FORM = "#account-{role}-form"
    ACCOUNT_IBAN = "#account-{role}-iban"
    ACCOUNT_AUTHORITY = "#account-{role}-authority"
    ACCOUNT_SUBMIT = "#account-{role}-submit"
    ACCOUNT_SAVED = "#account-{role}-saved"
    ACCOUNT_ERROR = "#account-{role}-error"
    HISTORY = "#account-history"
    CHANGE_ROW = "#account-history [data-field=account-change]"

    DATA_FIELDS = ("policy-number", "line", "status", "start", "end", "intermediary-customer-id")
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
    CHANGE_FIELDS = ("changed-at", "account-role", "new-iban", "authority")

    def __init__(self, page: Page) -> None:
        self.page = page

    def shows(self, policy_number: str) -> bool:
        """Whether the page is the screen of `policy_number` (just read, or just changed: the system answers a
        change with the policy's screen), asked in one round trip."""
        shown = self.page.evaluate(
            "(sel) => document.querySelector(sel)?.dataset.value ?? null",
            f'{self.DATA} [data-field="policy-number"]',
        )
        return bool(shown == policy_number)

    def read(self) -> Policy:
        """Everything the screen shows, read in one round trip."""
        sections = {
            "data": self.DATA,
            "tariff": self.TARIFF,
            "persons": self.PERSONS,
            "flags": self.FLAGS,
            "history": self.HISTORY,
            **{role: self.ACCOUNT.format(role=role) for role in ACCOUNT_ROLES},
        }
        shot = Snapshot(self.page, sections, {"person": self.PERSON_ROW, "change": self.CHANGE_ROW})
        data = shot.section("data", self.DATA_FIELDS)
        tariff = shot.section("tariff", self.TARIFF_FIELDS)
        shot.section("persons")
        shot.section("history")
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
            accounts={role: self._account(shot, role, role) for role in ACCOUNT_ROLES},
            critical=CriticalProcesses(
                dunning_active=flags["dunning-active"] == "true",
                cancellation_pending=flags["cancellation-pending"] == "true",
            ),
            intermediary_customer_id=data["intermediary-customer-id"],
            account_history=tuple(self._change(row) for row in shot.rows("change", self.CHANGE_FIELDS)),
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

    def _account(self, shot: Snapshot, section: str, role: str) -> Account | None:
        if "account-missing" in shot.section(section):
            return None
        fields = shot.section(section, self.ACCOUNT_FIELDS)
        mandate = fields.get("mandate-reference", "")
        return Account(role, fields["iban"], fields["bic"], fields["bank-name"], fields["holder"], mandate)

    @staticmethod
    def _change(row: Fields) -> AccountChange:
        return AccountChange(
            role=row["account-role"],
            old_iban=row.get("old-iban") or None,
            new_iban=row["new-iban"],
            bic=row.get("new-bic", ""),
            at=datetime.fromisoformat(row["changed-at"]),
            authority=row["authority"],
            bank_name=row.get("new-bank-name", ""),
            entered_by=row.get("changed-by", ""),
        )

    # -- the account form ------------------------------------------------------------------------

    def account_form(self, role: str) -> Account:
        """The account of `role` the screen shows, after checking its form is there (one round trip);
        ValueError when the policy has no such account, LayoutChanged when an element is missing."""
        parts = {
            "account": self.ACCOUNT,
            "form": self.ACCOUNT_FORM,
            "iban": self.ACCOUNT_IBAN,
            "authority": self.ACCOUNT_AUTHORITY,
            "submit": self.ACCOUNT_SUBMIT,
        }
        shot = Snapshot(self.page, {name: selector.format(role=role) for name, selector in parts.items()}, {})
        if "account-missing" in shot.section("account"):
            raise ValueError(f"the policy administration keeps no {role} account for this policy")
        for name in ("form", "iban", "authority", "submit"):
            shot.section(name)
        fields = shot.section("account", self.ACCOUNT_FIELDS)
        mandate = fields.get("mandate-reference", "")
        return Account(role, fields["iban"], fields["bic"], fields["bank-name"], fields["holder"], mandate)

    def submit_account(self, role: str, iban: str, authority: str) -> Response | None:
        """Fill and send the account form of `role`; the system answers with the policy page."""
        self.page.fill(self.ACCOUNT_IBAN.format(role=role), iban)
        self.page.fill(self.ACCOUNT_AUTHORITY.format(role=role), authority)
        with self.page.expect_navigation() as navigation:
            self.page.click(self.ACCOUNT_SUBMIT.format(role=role))
        return navigation.value

    def account(self, role: str) -> Account | None:
        """Only the account of `role`, in one round trip."""
        shot = Snapshot(self.page, {"account": self.ACCOUNT.format(role=role)}, {})
        return self._account(shot, "account", role)

    def error_text(self, role: str) -> str:
        """The system's reason for refusing a change of the account of `role`."""
        return " ".join(self.page.inner_text(self.ACCOUNT_ERROR.format(role=role)).split())


def compact_iban(iban: str) -> str:
    """An IBAN as the system stores it: no whitespace, upper case."""
    return re.sub(r"\s+", "", iban).upper()
