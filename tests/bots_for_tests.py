"""A bot for runtime tests whose behaviour the payload chooses; loaded via PORTALBOTS_BOTS in subprocesses."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bots.runtime.bot import Bot
from bots.runtime.context import Context
from bots.runtime.errors import HandOff, Reject, SystemUnavailable
from bots.runtime.models import Mail, WorkItem
from bots.runtime.resolutions import APPLY_ANYWAY, GENERIC_RESOLUTIONS
from bots.runtime.store import Upload


class EchoRequest(BaseModel):
    customer_id: str = Field(min_length=1, examples=["K100001"])
    action: Literal[
        "ok",
        "reject",
        "precheck_reject",
        "handoff",
        "unavailable",
        "error",
        "effect",
        "noop",
        "down_while",
        "browse",
        "mark",
        "guarded",
    ] = "ok"
    effect_file: str | None = None  # "effect": append a line here (the side effect tests count)
    hold_file: str | None = None  # "effect", first attempt: write "started" here, wait until it is deleted
    text: str = ""
    switch_file: str | None = None  # "down_while": a system error while this file exists, else done


class EchoBot(Bot):
    queue = "echo"
    route = "echoes"
    title = "Echo (tests)"
    request_model = EchoRequest
    systems = ("policy_admin",)
    max_attempts = 3
    resolutions = (*GENERIC_RESOLUTIONS, APPLY_ANYWAY)

    def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail:
        kind = "abgelehnt" if isinstance(outcome, Reject) else "an Sachbearbeitung"
        return Mail(f"{item.customer_id}@postfach.portalbots.test", f"Echo {item.id} {kind}", str(outcome))

    def precheck(self, item: WorkItem, ctx: Context) -> None:
        if item.payload.get("action") == "precheck_reject":
            raise Reject("request_rule", "Diese Anfrage können wir so nicht bearbeiten.")

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        req = EchoRequest.model_validate(item.payload)
        match req.action:
            case "ok":
                return {"echo": req.text}
            case "noop":
                return {}
            case "reject":
                raise Reject("test_rule", "Das geht leider nicht.")
            case "handoff":
                raise HandOff("Kranken", "dunning_active", "Mahnverfahren aktiv")
            case "unavailable":
                raise SystemUnavailable("policy_admin", "503 from the test")
            case "browse":  # open the page at `text` (a hanging one, for the stop tests)
                with ctx.browser() as page:
                    page.goto(req.text, timeout=120_000)
                    return {"title": page.title()}
            case "mark":  # leave this item's mark in the page at `text`, hold, and report what else was there
                with ctx.browser() as page:
                    page.goto(req.text)
                    before = page.evaluate(_READ_MARKS)
                    page.evaluate("id => { localStorage.mark = id; document.cookie = 'mark=' + id }", item.id)
                    if req.hold_file:
                        _hold(Path(req.hold_file))
                    return {"before": before, "after": page.evaluate(_READ_MARKS)}
            case "guarded":  # a check only a clerk may overrule; "down_while"'s switch for a system error
                authority = ctx.clerk_authority
                if authority is None:
                    raise HandOff("Kranken", "dunning_active", "Mahnverfahren aktiv")
                if req.switch_file and Path(req.switch_file).exists():
                    raise ConnectionRefusedError("the target system is down")
                return {"applied_by": authority.clerk, "case_id": authority.case_id}
            case "down_while":
                if req.switch_file and Path(req.switch_file).exists():
                    raise ConnectionRefusedError("the target system is down")
                return {"echo": "up again"}
            case "error":
                raise RuntimeError(f"boom on attempt {item.attempts}{': ' + req.text if req.text else ''}")
            case "effect":
                if req.hold_file and item.attempts == 1:  # only the first try waits to be killed
                    _hold(Path(req.hold_file))
                if ctx.recall("effect_done"):
                    return {"effect": "already done"}
                assert req.effect_file
                with open(req.effect_file, "a") as fh:
                    fh.write(f"{item.id}\n")
                ctx.remember("effect_done", True)
                return {"effect": "done"}
        raise AssertionError(req.action)


_READ_MARKS = "() => ({storage: localStorage.mark ?? null, cookie: document.cookie})"


def _hold(hold: Path) -> None:
    """Say "started" in `hold`, then wait until the test deletes it."""
    hold.write_text("started")
    deadline = time.monotonic() + 120
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


class NoopBot(Bot):
    """For benchmarks: does nothing, gated by no system."""

    queue = "noop"
    route = "noops"
    title = "No-op (benchmarks)"
    request_model = EchoRequest

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        return {}


class UploadForm(BaseModel):
    """The form a customer sends documents with."""

    customer_id: str = Field(min_length=1, max_length=64, examples=["K100001"])
    policy_numbers: list[str] = Field(min_length=1, examples=[["ARK-4711-0001"]])
    message: str = Field("", max_length=2000)


class UploadedFile(BaseModel):
    name: str
    media_type: str
    size: int


class UploadRequest(UploadForm):
    """What an upload item carries: the form's fields and, of each file, its name, type and size."""

    model_config = ConfigDict(extra="forbid")

    files: list[UploadedFile]


class UploadBot(Bot):
    """For the multipart intake route: documents with a few form fields (as a claims bot will take them)."""

    queue = "uploads"
    route = "uploads"
    title = "Documents (tests)"
    request_model = UploadRequest
    form_model = UploadForm
    multipart = True

    def payload_from_form(self, fields: Mapping[str, list[str]], files: list[Upload]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            name: fields[name][-1] for name in ("customer_id", "message") if name in fields
        }
        payload["policy_numbers"] = list(fields.get("policy_numbers", []))
        payload["files"] = [
            {"name": f.filename, "media_type": f.media_type, "size": len(f.data)} for f in files
        ]
        return payload

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        return {"files": len(item.payload["files"])}


class Recorder:
    """The dispatcher boundary for tests of what is sent: remembers the items instead of using a broker."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def enqueue(self, item: WorkItem) -> None:
        self.sent.append(item.id)
