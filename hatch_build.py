"""Build hook: compile the gettext catalogs (i18n/*/LC_MESSAGES/portalbots.po -> .mo) into every build,
so a wheel or an editable install carries the compiled translations (the .mo files are not in git)."""

from __future__ import annotations

import sys
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogs(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        sys.path.insert(0, self.root)
        try:
            from i18n import compile_catalogs
        finally:
            sys.path.remove(self.root)
        written = compile_catalogs()
        self.app.display_info(f"compiled {len(written)} translation catalogs")
        build_data["artifacts"].append("i18n/*/LC_MESSAGES/*.mo")
