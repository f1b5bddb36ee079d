"""How the console shows times, durations, numbers and the runtime's codes, in the chosen language."""

from __future__ import annotations

from datetime import datetime

from console.i18n import N_, _, language

STATUS = {
    "pending": N_("pending"),
    "running": N_("running"),
    "done": N_("done"),
    "rejected": N_("rejected"),
    "handed_off": N_("handed off"),
    "failed": N_("failed"),
    "deferred": N_("deferred"),
    "abandoned": N_("abandoned"),
}
STATUSES = tuple(STATUS)

DEFER_REASON = {
    "service_window": N_("service window"),
    "retry_backoff": N_("retry backoff"),
    "postponed": N_("postponed"),
}

CASE_STATUS = {"open": N_("open"), "claimed": N_("claimed"), "resolved": N_("resolved")}

ALERT_KIND = {
    "queue_paused": N_("Queue paused"),
    "queue_resumed": N_("Queue resumed"),
    "item_overdue": N_("Item past its due date"),
    "case_overdue": N_("Case past its due date"),
}

ROLE = {"supervisor": N_("Supervisor"), "clerk": N_("Clerk")}


def label(table: dict[str, str], code: str | None) -> str:
    """The translated name of a runtime code; an unknown code as it is."""
    if code is None:
        return ""
    return _(table[code]) if code in table else code


def parse(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None


def when(iso: str | None, seconds: bool = False) -> str:
    """An instant in the desktop's local time: 24.11.2026 10:00 (German) or 2026-11-24 10:00."""
    at = parse(iso)
    if at is None:
        return ""
    local = at.astimezone()
    if language() == "de":
        return local.strftime("%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def duration(seconds: float | None) -> str:
    """3 d 4 h, 2 h 5 min, 12 min, 40 s."""
    if seconds is None:
        return ""
    s = int(max(seconds, 0))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    text = f"{value:,.{digits}f}"
    if language() == "de":  # 1.234,5
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def count(n: int | None) -> str:
    return number(n, 0) if n is not None else ""
