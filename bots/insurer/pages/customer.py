"""The customer screen: personal data, address and the list of the customer's policies."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Page

from bots.insurer.facts import Customer, PolicyRow
from bots.insurer.pages.contract import Snapshot


class CustomerPage:
    DATA = "#customer-data"
    POLICIES = "#policy-list"
    POLICY_ROW = "[data-field=policy-row]"

    DATA_FIELDS = ("customer-id", "first-name", "last-name", "birth-date", "intermediary")
    ADDRESS_FIELDS = ("street", "zip", "city", "country")
    ROW_FIELDS = ("policy-number", "line", "status")

    def __init__(self, page: Page) -> None:
        self.page = page

    def read(self) -> Customer:
        """Everything the screen shows, read in one round trip."""
        shot = Snapshot(
            self.page,
            {"data": self.DATA, "page": "main", "policies": self.POLICIES},
            {"row": self.POLICY_ROW},
        )
        data = shot.section("data", self.DATA_FIELDS)
        address = shot.section("page", self.ADDRESS_FIELDS)
        shot.section("policies")
        return Customer(
            customer_id=data["customer-id"],
            first_name=data["first-name"],
            last_name=data["last-name"],
            birth_date=date.fromisoformat(data["birth-date"]),
            street=address["street"],
            zip=address["zip"],
            city=address["city"],
            country=address["country"],
            is_intermediary=data["intermediary"] == "true",
            policies=tuple(
                PolicyRow(
                    r["policy-number"],
                    r["line"],
                    r.get("business-unit", ""),
                    r.get("health-department", ""),
                    r["status"],
                )
                for r in shot.rows("row", self.ROW_FIELDS)
            ),
        )
