"""Settings from PORTALBOTS_* environment variables (and a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a process of PortalBots reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="PORTALBOTS_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    broker_url: str | None = None
    intake_token: SecretStr = SecretStr("dev-intake-token")
    intake_host: str = "127.0.0.1"
    intake_port: int = 8700

    sandbox_url: str = "http://127.0.0.1:8710"
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8710
    sandbox_user: str = "robot"
    sandbox_password: SecretStr = SecretStr("robot-pw")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8725
    postfach_address: str = Field(
        default="{customer_id}@postfach.portalbots.test",
        description="the customer's portal mailbox as an SMTP address; {customer_id} is filled in",
    )

    timezone: str = "Europe/Berlin"
    holiday_state: str = "NW"
    closing_days: str = Field(
        default="12-24,12-31", description="company closing days, MM-DD, comma-separated"
    )
    service_hours: str = Field(
        default="mon-fri 07:00-19:00",
        description="weekly hours of the core systems in local time, e.g. 'mon-fri 07:00-19:00; sat 08:00-12:00'",
    )
    clock_shift: float = 0.0

    lease_seconds: int = 300
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    breaker_threshold: int = 5
    alert_mail_to: str = "leitstand@portalbots.test"
    mail_from: str = "portalbots@portalbots.test"
    bots: str = Field(default="", description="extra bot classes 'module:Class', comma-separated")

    chromium_path: str = "/usr/bin/chromium"
    browser_headless: bool = True
    browser_timeout_ms: float = 15_000.0
    browser_navigation_timeout_ms: float = 30_000.0
    browser_trace: bool = Field(
        default=True, description="record a Playwright trace per item, kept as an artifact when a step fails"
    )
    sandbox_faults: str = Field(default="", description="initial sandbox fault knobs as JSON")

    # The insurer named on documents; unset fields keep the fictional PortalBots insurer.
    insurer_name: str | None = None
    insurer_street: str | None = None
    insurer_city: str | None = None
    insurer_phone: str | None = None
    insurer_emergency_phone: str | None = None
    insurer_email: str | None = None
    insurer_website: str | None = None
    insurer_place_of_issue: str | None = None
    insurer_logo_path: Path | None = None
    ark_max_past_days: int = Field(default=30, description="how far in the past an ARK trip may start")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'portalbots.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
