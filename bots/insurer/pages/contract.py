"""How a screen of the policy administration is read: by ids and data-field values, in one round trip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from playwright.sync_api import Page

Fields = dict[str, str]

# All [data-field] values inside each named element (data-value, else the text) and each repeated row,
# in one round trip: {"sections": {name: fields or null}, "rows": {name: [fields, ...]}}.
_SNAPSHOT = """spec => {
  const read = el => Object.fromEntries([...el.querySelectorAll('[data-field]')].map(e =>
      [e.getAttribute('data-field'), e.hasAttribute('data-value') ? e.getAttribute('data-value')
                                                                   : e.textContent.trim()]));
  const sections = {}, rows = {};
  for (const [name, selector] of Object.entries(spec.sections)) {
    const el = document.querySelector(selector);
    sections[name] = el ? read(el) : null;
  }
  for (const [name, selector] of Object.entries(spec.rows)) {
    rows[name] = [...document.querySelectorAll(selector)].map(read);
  }
  return {sections, rows};
}"""


def present(page: Page, *selectors: str) -> set[str]:
    """Which of `selectors` the page shows, in one round trip (where a locator each would take one apiece)."""
    found: list[str] = page.evaluate(
        "s => s.filter(x => document.querySelector(x) !== null)", list(selectors)
    )
    return set(found)


class LayoutChanged(RuntimeError):
    """A page lacks an element of the contract: the core system's UI changed; the page objects need care."""


class Snapshot:
    """What one screen showed: its sections' fields and its repeated rows."""

    def __init__(self, page: Page, sections: Mapping[str, str], rows: Mapping[str, str]) -> None:
        self.url = page.url
        self.selectors = {**sections, **rows}
        raw: dict[str, Any] = page.evaluate(_SNAPSHOT, {"sections": dict(sections), "rows": dict(rows)})
        self._sections: dict[str, Fields | None] = raw["sections"]
        self._rows: dict[str, list[Fields]] = raw["rows"]

    def has(self, section: str) -> bool:
        return self._sections.get(section) is not None

    def section(self, name: str, required: Iterable[str] = ()) -> Fields:
        """The fields of section `name`; LayoutChanged when it or a required field is missing."""
        fields = self._sections.get(name)
        if fields is None:
            raise LayoutChanged(f"the page lacks {self.selectors[name]} at {self.url}")
        missing = [f for f in required if f not in fields]
        if missing:
            raise LayoutChanged(
                f"{self.selectors[name]} lacks [data-field={', '.join(missing)}] at {self.url}"
            )
        return fields

    def rows(self, name: str, required: Iterable[str] = ()) -> list[Fields]:
        """The repeated rows `name`; LayoutChanged naming the row and field a row lacks."""
        needed = tuple(required)
        rows = self._rows.get(name, [])
        for n, row in enumerate(rows, 1):
            missing = [f for f in needed if not row.get(f)]
            if missing:
                raise LayoutChanged(
                    f"{self.selectors[name]} row {n} lacks [data-field={', '.join(missing)}] at {self.url}"
                )
        return rows
