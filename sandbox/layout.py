"""Template helpers: element ids (which change under the alternative layout) and German formatting."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

ALT_PREFIX = "v2-"
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


class Layout:
    """Maps the documented element ids and data-field names to what the current layout renders."""

    def __init__(self, alt: bool) -> None:
        self.alt = alt

    def eid(self, name: str) -> str:
        return f"{ALT_PREFIX}{name}" if self.alt else name

    def df(self, name: str) -> str:
        return f"{ALT_PREFIX}{name}" if self.alt else name


def de_date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def iso(value: date | datetime | None) -> str:
    return value.isoformat() if value else ""


def de_money(value: Decimal) -> str:
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text} EUR"


def yes_no(value: bool) -> str:
    return "ja" if value else "nein"


def de_datetime(value: datetime, tz: ZoneInfo) -> str:
    local = value.astimezone(tz)
    return f"{WEEKDAYS[local.weekday()]}, {local:%d.%m.%Y, %H:%M} Uhr"


def format_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
