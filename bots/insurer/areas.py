"""The areas of cover of the insurer's travel tariffs: the codes the policy administration shows, and the
countries each includes. The one place that says what "Europe" means for a tariff."""

from __future__ import annotations

from enum import StrEnum

# the insurer's own country: travel health insurance is cover abroad, no area of cover includes it
INSURER_HOME = "DE"


class Area(StrEnum):
    """An area of cover as the tariff card codes it (data-value)."""

    WORLD_EXCEPT_DE = "WORLD_EXCEPT_DE"
    EUROPE = "EUROPE"


# Europe as the tariffs define it, ISO 3166-1 alpha-2: the EU, the EEA, Switzerland, the United Kingdom,
# the European microstates, the Western Balkans, Belarus, Moldova, Ukraine, all of Turkey and the European
# dependencies (Faroe Islands, Gibraltar, Channel Islands, Isle of Man, Åland, Svalbard). Not Russia and
# not the Caucasus: most of their territory lies in Asia, and a country code cannot say where a trip goes.
EUROPE = frozenset(
    {
        # EU
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
        # EEA, Switzerland, United Kingdom, microstates
        "IS", "LI", "NO", "CH", "GB", "AD", "MC", "SM", "VA",
        # Western Balkans and Eastern Europe
        "AL", "BA", "ME", "MK", "RS", "BY", "MD", "UA", "TR",
        # European dependencies
        "FO", "GI", "GG", "JE", "IM", "AX", "SJ",
    }
)  # fmt: skip


def area_of(code: str) -> Area | None:
    """The area a tariff card's code names; None for a code this layer does not know."""
    try:
        return Area(code)
    except ValueError:
        return None


def covers(area: Area, country: str) -> bool:
    """Whether `area` includes `country` (ISO 3166-1 alpha-2); never the insurer's home country."""
    if country == INSURER_HOME:
        return False
    if area is Area.EUROPE:
        return country in EUROPE
    return True
