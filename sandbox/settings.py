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
