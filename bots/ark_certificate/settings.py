"""The ARK bot's settings: the insurer's, and the ARK rules' own."""

from __future__ import annotations

from pydantic import Field

from bots.insurer.settings import InsurerSettings


class ArkSettings(InsurerSettings):
    ark_max_past_days: int = Field(default=30, description="how far in the past an ARK trip may start")
    ark_max_future_days: int = Field(
        default=365, description="how far ahead an ARK trip may start (the intake refuses later trips)"
    )
