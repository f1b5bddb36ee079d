"""The insurer's settings: who it is, where its core systems and the portal's contract overview are, how the
robot logs in, its Postfach."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class InsurerSettings(BaseSettings):
    """From PORTALBOTS_* environment variables (and a .env file), as the runtime's settings are."""

    model_config = SettingsConfigDict(
        env_prefix="PORTALBOTS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # The policy administration's web UI (the sandbox stands in for it) and the robot user's login.
    policy_admin_url: str = Field(
        default="http://127.0.0.1:8710", validation_alias=_env("PORTALBOTS_SANDBOX_URL", "policy_admin_url")
    )
    robot_user: str = Field(default="robot", validation_alias=_env("PORTALBOTS_SANDBOX_USER", "robot_user"))
    robot_password: SecretStr = Field(
        default=SecretStr("robot-pw"), validation_alias=_env("PORTALBOTS_SANDBOX_PASSWORD", "robot_password")
    )
    # The customer portal's contract overview: the customer's policies in force, read-only, at any hour.
    portal_contracts_url: str | None = Field(
        default=None,
        description="base URL of the portal's contract overview (GET /portal/kunden/{customer_id}/vertraege); "
        "unset: the policy administration's URL, where the sandbox serves both",
    )
    portal_contracts_token: SecretStr = Field(
        default=SecretStr("dev-portal-contracts-token"),
        description="bearer token of the contract overview (default: the sandbox's development token)",
    )
    portal_contracts_timeout_seconds: float = Field(
        default=5.0, gt=0, description="how long the bots wait for the contract overview's answer"
    )
    postfach_address: str = Field(
        default="{customer_id}@postfach.portalbots.test",
        description="the customer's portal mailbox as an SMTP address; {customer_id} is filled in",
    )
    mail_domain: str = Field(default="portalbots.test", description="the domain of the Message-IDs we send")

    # The insurer named on documents; unset fields keep the fictional default insurer.
    insurer_name: str | None = None
    insurer_street: str | None = None
    insurer_city: str | None = None
    insurer_phone: str | None = None
    insurer_emergency_phone: str | None = None
    insurer_email: str | None = None
    insurer_website: str | None = None
    insurer_place_of_issue: str | None = None
    insurer_logo_path: Path | None = None
    insurer_creditor_id: str = Field(
        default="DE98ZZZ09999999999",
        description="the insurer's SEPA creditor identifier, named with every mandate (default: the example id)",
    )

    @property
    def contracts_url(self) -> str:
        """Where the contract overview answers: its own URL, or else the policy administration's."""
        return (self.portal_contracts_url or self.policy_admin_url).rstrip("/")
