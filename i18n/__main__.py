"""`python -m i18n extract [OUTPUT.pot]|update|compile`: the catalog workflow, one command each."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from i18n import CATALOG_DIR, DOMAIN, compile_catalogs

ROOT = CATALOG_DIR.parent
TEMPLATE = CATALOG_DIR / f"{DOMAIN}.pot"


def extract(output: Path = TEMPLATE) -> None:
    """Collect the msgids of bots/ and console/ into the template i18n/portalbots.pot (or `output`)."""
    _pybabel(
        "extract",
        "--mapping-file", str(CATALOG_DIR / "babel.cfg"),
        "--output-file", str(output.resolve()),
        "--project", "PortalBots",
        "--copyright-holder", "PortalBots",
        "--add-comments", "Translators:",
        "--add-location", "file",
        "--sort-by-file",
        "bots",
        "console",
    )  # fmt: skip


def update() -> None:
    """Merge the template into each language's .po (new msgids appear untranslated)."""
    _pybabel(
        "update",
        "--input-file", str(TEMPLATE),
        "--output-dir", str(CATALOG_DIR),
        "--domain", DOMAIN,
    )  # fmt: skip


def _pybabel(*args: str) -> None:
    # from the project root, so the template's locations are relative paths
    os.chdir(ROOT)
    CommandLineInterface().run(["pybabel", *args])


def main(argv: list[str]) -> int:
    if argv[:1] == ["extract"] and len(argv) <= 2:
        # an explicit output file lets a check compare the code with the template without touching it
        extract(Path(argv[1]) if len(argv) == 2 else TEMPLATE)
    elif argv == ["update"]:
        update()
    elif argv == ["compile"]:
        for path in compile_catalogs():
            print(f"compiled {path.relative_to(ROOT)}")
    else:
        print("usage: python -m i18n extract [OUTPUT.pot] | update | compile", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
