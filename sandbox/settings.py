"""The sandbox's settings: the runtime's (calendar, clock shift, SMTP port, data dir) and its own."""

from __future__ import annotations

from pydantic import Field, SecretStr

from bots.runtime.settings import Settings


class SandboxSettings(Settings):
    """PORTALBOTS_SANDBOX_*: where the stand-in core systems listen, the robot's login, initial faults."""

    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8710
    sandbox_user: str = "robot"
    sandbox_password: SecretStr = SecretStr("robot-pw")
    sandbox_faults: str = Field(default="", description="initial sandbox fault knobs as JSON")
    sandbox_admin_token: SecretStr = Field(
        default=SecretStr("dev-sandbox-admin-token"),
        description="bearer token of the admin API (/admin/…: full IBANs, mailboxes, fault knobs)",
    )
    sandbox_allow_remote: bool = Field(
        default=False, description="serve beyond loopback (a container network); else only 127.0.0.1/::1"
    )
    sandbox_login_delay: float = Field(
        default=1.0, description="seconds of the first slowed-down wrong login"
    )
    sandbox_portal_token: SecretStr = Field(
        default=SecretStr("dev-portal-contracts-token"),
        description="bearer token of the portal's contract overview (/portal/…), which answers at any hour",
    )
