"""The Bot interface and the registry that finds bots through the `portalbots.bots` entry points."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from bots.runtime.errors import ConfigurationError, HandOff, Reject, UnknownQueue
from bots.runtime.models import Mail, Resolution, WorkItem
from bots.runtime.resolutions import GENERIC_RESOLUTIONS, check_resolutions

if TYPE_CHECKING:
    from fastapi import APIRouter

    from bots.runtime.calendar import ServiceCalendar
    from bots.runtime.context import Context
    from bots.runtime.scenario import DemoScenario
    from bots.runtime.store import Upload

ENTRY_POINT_GROUP = "portalbots.bots"


@dataclass(frozen=True)
class UploadLimits:
    """What a multipart bot accepts at the door: the intake refuses more files than `max_files` (400), fewer
    than `min_files` (422), and a file over `max_file_bytes` or files over `max_total_bytes` together (413),
    before anything is stored."""

    min_files: int = 0
    max_files: int = 20
    max_file_bytes: int = 20 * 1024 * 1024
    max_total_bytes: int | None = None  # None: only the intake's body limit


class Bot(ABC):
    """One unattended bot: what it accepts, which systems it needs, and how it processes an item."""

    queue: ClassVar[str]
    route: ClassVar[str]  # intake path below /v1/, e.g. "ark-certificates"
    title: ClassVar[str]
    request_model: ClassVar[type[BaseModel]]
    systems: ClassVar[tuple[str, ...]] = ()  # target systems whose service calendar gates the bot
    sla: ClassVar[timedelta] = timedelta(hours=24)
    case_sla: ClassVar[timedelta] = timedelta(days=2)
    max_attempts: ClassVar[int] = 5
    multipart: ClassVar[bool] = False  # requests come as multipart/form-data with files
    # Multipart bots: the form's text fields as a model (FastAPI validates the form with it and documents it in
    # OpenAPI); None: the request model's fields are the form's fields.
    form_model: ClassVar[type[BaseModel] | None] = None
    # What the clerks of this bot's cases may decide (see bots.runtime.resolutions).
    resolutions: ClassVar[tuple[Resolution, ...]] = GENERIC_RESOLUTIONS

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if getattr(cls, "__abstractmethods__", None):
            return
        for name in ("queue", "route", "title", "request_model"):
            if not hasattr(cls, name):
                raise ConfigurationError(f"bot {cls.__name__} must declare {name}")
        if not cls.queue.replace("_", "").isalnum():
            raise ConfigurationError(f"bot {cls.__name__}: queue {cls.queue!r} must be a plain identifier")
        if not issubclass(cls.request_model, BaseModel):
            raise ConfigurationError(f"bot {cls.__name__}: request_model must be a pydantic model")
        if cls.form_model is not None and not issubclass(cls.form_model, BaseModel):
            raise ConfigurationError(f"bot {cls.__name__}: form_model must be a pydantic model")
        if cls.multipart and cls.payload_from_form is Bot.payload_from_form:
            raise ConfigurationError(
                f"bot {cls.__name__} takes multipart requests: it must define payload_from_form"
            )
        if cls.max_attempts < 1:
            raise ConfigurationError(f"bot {cls.__name__}: max_attempts must be at least 1")
        check_resolutions(f"bot {cls.__name__}", cls.resolutions)

    def customer_of(self, request: BaseModel) -> str | None:
        """The customer a request belongs to (for lists and the portal's status queries)."""
        value = getattr(request, "customer_id", None)
        return str(value) if value is not None else None

    def payload_from_form(self, fields: Mapping[str, list[str]], files: list[Upload]) -> dict[str, Any]:
        """Multipart bots: the JSON payload the request model validates, from the form's text fields (each
        name with all its values, in order) and its files. The files themselves are stored as artifacts
        (kind "upload") of the item, in the same transaction as the item."""
        raise NotImplementedError(f"bot {type(self).__name__} takes no multipart requests")

    def upload_limits(self) -> UploadLimits:
        """Multipart bots: how many files of what size the intake accepts (see UploadLimits)."""
        return UploadLimits()

    def stored_uploads(self, uploads: list[Upload]) -> list[Upload]:
        """Multipart bots: the files as they are stored and given to `payload_from_form` (e.g. under safe,
        distinct names); by default as they came."""
        return uploads

    def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail | None:
        """The message that tells the customer their request was refused or handed to a clerk (German, to
        their Postfach), or None. The runner writes it to the outbox in the transaction that ends the run,
        so it is sent exactly once, however often the run is retried or housekeeping restarts."""
        return None

    def due_at(self, submitted: datetime, calendar: Callable[[str], ServiceCalendar]) -> datetime:
        """When an item submitted at `submitted` is due (its SLA); `calendar` gives a system's calendar."""
        return submitted + self.sla

    def admit(self, request: BaseModel, today: date) -> None:
        """Checks at the intake that need today's date (local time), after the request model passed: raise
        FieldInvalid to answer 422 naming the field."""
        return None

    def demo(self) -> DemoScenario | None:
        """This bot's part of `portalbots demo`, if it has one."""
        return None

    def router(self) -> APIRouter | None:
        """This bot's own read-only routes for the portal (e.g. a look-up its form calls while the customer
        types), or None. The intake calls this once when it is built and mounts the routes below `/v1`
        behind the same bearer token, body limit and error body as its other routes; they must be GET
        routes (what a bot changes comes as a request through its request model and queue)."""
        return None

    def precheck(self, item: WorkItem, ctx: Context) -> None:
        """The checks that need no target system (request-only rules: dates, IBAN, file contents).

        The runner calls this before it looks at any service calendar, so a bad request is refused at
        once at any hour: raise Reject (or HandOff). Nothing here may touch a target system.
        """
        return None  # most bots check everything in their request model

    @abstractmethod
    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        """Carry out one item; return its result, or raise Reject / HandOff / SystemUnavailable."""


class Registry:
    """The bots this process knows, by queue."""

    def __init__(self, bots: Iterable[Bot] = ()) -> None:
        self._by_queue: dict[str, Bot] = {}
        for bot in bots:
            self.add(bot)

    def add(self, bot: Bot) -> None:
        if bot.queue in self._by_queue:
            raise ConfigurationError(f"two bots declare queue {bot.queue!r}")
        if any(b.route == bot.route for b in self._by_queue.values()):
            raise ConfigurationError(f"two bots declare route {bot.route!r}")
        self._by_queue[bot.queue] = bot

    def get(self, queue: str) -> Bot:
        try:
            return self._by_queue[queue]
        except KeyError:
            raise UnknownQueue(f"no bot serves queue {queue!r}") from None

    def __iter__(self) -> Any:
        return iter(self._by_queue.values())

    def __len__(self) -> int:
        return len(self._by_queue)

    @property
    def queues(self) -> list[str]:
        return list(self._by_queue)

    @classmethod
    def discover(cls, extra: str = "") -> Registry:
        """Bots from the entry-point group plus `extra` ('module:Class,…', e.g. from PORTALBOTS_BOTS)."""
        classes: list[type[Bot]] = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)]
        for spec in filter(None, (s.strip() for s in extra.split(","))):
            module, _, attr = spec.partition(":")
            if not attr:
                raise ConfigurationError(f"bot spec {spec!r} must look like 'package.module:Class'")
            classes.append(getattr(importlib.import_module(module), attr))
        return cls(c() for c in classes)
