"""Settings from PORTALBOTS_* environment variables (and a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bots.runtime.calendar import parse_closing_days, parse_hours

DEFAULT_SYSTEM = "policy_admin"
TraceMode = Literal["always", "retries", "never"]
Isolation = Literal["page", "context"]


class SystemHours(BaseModel):
    """The service calendar of one target system; what is unset follows the defaults."""

    service_hours: str | None = None
    closing_days: str | None = None
    holiday_state: str | None = None


class Settings(BaseSettings):
    """What the runtime's processes read from their environment (bots and the sandbox have their own)."""

    model_config = SettingsConfigDict(
        env_prefix="PORTALBOTS_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    data_dir: Path = Path("var")
    database_url: str | None = None
    broker_url: str | None = None
    intake_token: SecretStr = SecretStr("dev-intake-token")
    intake_host: str = "127.0.0.1"
    intake_port: int = 8700
    intake_workers: int = Field(
        default=1, ge=1, description="uvicorn worker processes of `portalbots intake`"
    )
    intake_max_json_bytes: int = Field(default=1 << 20, description="largest JSON request body (413 beyond)")
    intake_max_form_bytes: int = Field(
        default=25 << 20, description="largest multipart request body with its files (413 beyond)"
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8725

    timezone: str = "Europe/Berlin"
    holiday_state: str = "NW"
    closing_days: str = Field(
        default="12-24,12-31", description="company closing days, MM-DD, comma-separated"
    )
    service_hours: str = Field(
        default="mon-fri 07:00-19:00",
        description="weekly hours of the core systems in local time, e.g. 'mon-fri 07:00-19:00; sat 08:00-12:00'",
    )
    systems: dict[str, SystemHours] = Field(
        default_factory=dict,
        description="service calendars per target system, e.g. "
        "PORTALBOTS_SYSTEMS__MAIL_GATEWAY__SERVICE_HOURS='mon-sun 00:00-24:00'; "
        f"a system without its own entry (such as {DEFAULT_SYSTEM}) keeps the defaults above",
    )
    clock_shift: float = 0.0

    lease_seconds: int = 300
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    breaker_threshold: int = Field(default=5, description="system errors in a row that pause a queue")
    breaker_cooldown_seconds: float = Field(
        default=60.0, description="how long a paused queue waits before one item runs as a trial"
    )
    breaker_max_cooldown_seconds: float = Field(
        default=3600.0, description="the longest wait between trials (it doubles after each failed one)"
    )
    alert_mail_to: str = "leitstand@portalbots.test"
    mail_from: str = "portalbots@portalbots.test"
    bots: str = Field(default="", description="extra bot classes 'module:Class', comma-separated")

    worker_stop_grace_seconds: float = Field(
        default=5.0, description="when a worker is asked to stop, how long a running step may still take"
    )
    ops_token_hours: float = Field(
        default=8.0,
        gt=0,
        description="how long an operator's sign-in token is valid (the console signs in again)",
    )
    ops_login_free_failures: int = Field(
        default=5, ge=1, description="wrong passwords in a row for a name before sign-ins are slowed down"
    )
    ops_login_first_lock_seconds: float = Field(
        default=2.0, gt=0, description="the first wait after that; it doubles with every further failure"
    )
    ops_login_max_lock_seconds: float = Field(default=900.0, gt=0, description="the longest wait")
    # argon2id cost of operators' password hashes (argon2-cffi's defaults; tests pass cheap ones)
    ops_argon2_time_cost: int = Field(default=3, ge=1)
    ops_argon2_memory_kib: int = Field(default=65536, ge=8)
    ops_argon2_parallelism: int = Field(default=4, ge=1)
    ops_throughput_hours: float = Field(
        default=24.0,
        gt=0,
        description="the backlog's throughput is measured over the open time of this many past hours",
    )

    chromium_path: str = "/usr/bin/chromium"
    browser_headless: bool = True
    browser_timeout_ms: float = 15_000.0
    browser_navigation_timeout_ms: float = 30_000.0
    browser_trace: TraceMode = Field(
        default="retries",
        description="record a Playwright trace (kept as an artifact when a step fails): always, on retries "
        "(an item's second and later attempts: what failed once is then traced), or never; true/false also work",
    )
    browser_isolation: Isolation = Field(
        default="page",
        description="each item gets a fresh page in a context the worker process keeps warm, tidied after every "
        "item (page), or a fresh browser context of its own (context: ~0.3 CPU-seconds more per item)",
    )
    browser_block_resources: bool = Field(
        default=True,
        description="the robot's pages load no images, fonts or stylesheets (the page objects need none)",
    )

    @field_validator("browser_trace", mode="before")
    @classmethod
    def _trace_from_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            return "always" if value else "never"
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "false", "0", "no"):
            return "always" if value.strip().lower() in ("true", "1", "yes") else "never"
        return value

    @model_validator(mode="after")
    def _calendars_parse(self) -> Settings:
        # a typo in service hours fails at start-up, not at the first item of that system
        for system in ("", *self.systems):
            hours = self.hours_of(system)
            try:
                parse_hours(hours.service_hours or "")
                parse_closing_days(hours.closing_days or "")
            except ValueError as exc:
                raise ValueError(f"service calendar of {system or 'every system'}: {exc}") from None
        return self

    def hours_of(self, system: str) -> SystemHours:
        """The service calendar of target system `system`, its own entry over the defaults."""
        own = self.systems.get(system.lower(), SystemHours())
        return SystemHours(
            service_hours=own.service_hours or self.service_hours,
            closing_days=self.closing_days if own.closing_days is None else own.closing_days,
            holiday_state=self.holiday_state if own.holiday_state is None else own.holiday_state,
        )

    def private_data_dir(self) -> Path:
        """The data folder, created readable by its owner only (it holds the database, PDFs, screenshots)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        return self.data_dir

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'portalbots.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
