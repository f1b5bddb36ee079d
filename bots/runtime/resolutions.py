"""Clerk resolutions: the decisions a bot offers the clerks of its cases, and carrying one out.

A bot declares its resolutions (`Bot.resolutions`, by default `GENERIC_RESOLUTIONS`); the store records
the one a clerk chose (`Store.resolve_case`); `decide` joins the two: it finds the resolution by its code
among those the case's bot offers and, for a rejection, has the bot write the customer's message, which
goes to the outbox in the transaction that resolves the case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bots.runtime.errors import ConfigurationError, Reject, UnknownQueue, UnknownResolution
from bots.runtime.models import Case, Resolution, ResolutionOutcome, WorkItem
from bots.runtime.privacy import mask_text

if TYPE_CHECKING:
    from bots.runtime.bot import Bot, Registry
    from bots.runtime.store import Store

# The error code of an item a clerk rejected; the clerk's note is its customer message.
CLERK_REJECTED = "clerk_rejected"

DONE_MANUALLY = Resolution("done_manually", "Manuell erledigt", ResolutionOutcome.DONE)
REJECT = Resolution("reject", "Ablehnen", ResolutionOutcome.REJECTED, needs_note=True)
BACK_TO_BOT = Resolution("back_to_bot", "Zurück an den Bot", ResolutionOutcome.RERUN)
# What every bot offers unless it declares otherwise.
GENERIC_RESOLUTIONS: tuple[Resolution, ...] = (DONE_MANUALLY, REJECT, BACK_TO_BOT)

# For a bot whose hand-off guards a check a clerk may overrule: the item runs again with the clerk's
# authority (ctx.clerk_authority), once; why the clerk overruled it goes into the audit trail.
APPLY_ANYWAY = Resolution(
    "apply_anyway", "Trotzdem ausführen", ResolutionOutcome.RERUN, with_authority=True, needs_note=True
)

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def check_resolutions(owner: str, resolutions: Iterable[object]) -> None:
    """Refuse a bot's declaration that a clerk could not use (checked when the bot class is declared)."""
    seen: set[str] = set()
    for r in resolutions:
        if not isinstance(r, Resolution):
            raise ConfigurationError(f"{owner}: resolutions must be Resolution objects, not {r!r}")
        if not _CODE.fullmatch(r.code) or not r.title.strip():
            raise ConfigurationError(
                f"{owner}: resolution {r.code!r} needs a code like 'apply_anyway' and a title"
            )
        if r.code in seen:
            raise ConfigurationError(f"{owner}: two resolutions have the code {r.code!r}")
        if r.with_authority and r.outcome != ResolutionOutcome.RERUN:
            raise ConfigurationError(
                f"{owner}: resolution {r.code!r}: only a rerun carries the clerk's authority"
            )
        if r.outcome == ResolutionOutcome.REJECTED and not r.needs_note:
            raise ConfigurationError(
                f"{owner}: resolution {r.code!r} rejects, so it needs a note (the customer's message)"
            )
        seen.add(r.code)
    if not seen:
        raise ConfigurationError(f"{owner}: a bot must offer its clerks at least one resolution")


def find(bot: Bot, code: str) -> Resolution:
    """The resolution `code` of `bot`; UnknownResolution naming the valid codes otherwise."""
    for r in bot.resolutions:
        if r.code == code:
            return r
    valid = ", ".join(r.code for r in bot.resolutions)
    raise UnknownResolution(f"queue {bot.queue} offers no resolution {code!r}; valid: {valid}")


def offered(registry: Registry, queue: str) -> tuple[Resolution, ...]:
    """The resolutions the bot of `queue` offers; none when this process does not know that bot."""
    try:
        return tuple(registry.get(queue).resolutions)
    except UnknownQueue:
        return ()


def decide(
    store: Store, registry: Registry, case_id: int, clerk: str, code: str, note: str = ""
) -> tuple[Case, WorkItem]:
    """A clerk resolves case `case_id` with the resolution `code` its bot offers; a rejection's Postfach
    message (the bot's `notice`) goes to the outbox in the same transaction. Nothing changes when the code
    is unknown, a note is missing, the case is claimed by another clerk or no longer open."""
    case = store.get_case(case_id)
    bot = registry.get(case.queue)
    resolution = find(bot, code)
    if resolution.needs_note and not note.strip():
        raise ValueError(f"resolution {code!r} needs a note")
    notice = None
    if resolution.outcome == ResolutionOutcome.REJECTED:
        # the text the portal shows (masked, as the store keeps it) is the text the Postfach gets
        notice = bot.notice(store.get(case.item_id), Reject(CLERK_REJECTED, mask_text(note.strip())))
    return store.resolve_case(case_id, clerk, resolution, note, notice=notice)
