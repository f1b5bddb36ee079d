"""Names of customer files made safe to show, store and mail: no path parts, no control or invisible
characters, and never two alike in one submission."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_NAME = 100
_BLANKS = re.compile(r"[\t\r\n\u2028\u2029]+")
_UNSAFE = re.compile(r'["*:<>?|]+')
EXTENSIONS = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}
_KNOWN = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png"}


def safe_name(name: str, fallback: str) -> str:
    """The last path part of `name` (/ and \\ both separate), NFC, without control, format (bidi overrides)
    and characters file systems refuse, blanks collapsed, no leading dots, at most MAX_NAME characters with
    the extension kept; `fallback` when nothing is left."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    base = _UNSAFE.sub("_", _BLANKS.sub(" ", base))
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"))
    base = " ".join(base.split()).strip(" .")
    if not base:
        return fallback
    if len(base) > MAX_NAME:
        _stem, dot, ext = base.rpartition(".")
        keep = f".{ext}" if dot and 0 < len(ext) <= 8 else ""
        base = base[: MAX_NAME - len(keep)].rstrip(" .") + keep
    return base


def distinct_names(names: Iterable[str]) -> list[str]:
    """Each name safe (safe_name) and distinct, ignoring case: a second 'Beleg.pdf' becomes 'Beleg (2).pdf'."""
    taken: set[str] = set()
    out = []
    for n, name in enumerate(names, 1):
        clean = safe_name(name, f"Beleg-{n}")
        stem, dot, ext = clean.rpartition(".")
        if not dot or not stem:
            stem, ext = clean, ""
        candidate, k = clean, 1
        while candidate.casefold() in taken:
            k += 1
            candidate = f"{stem} ({k})" + (f".{ext}" if ext else "")
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def with_extension(name: str, kind: str) -> str:
    """`name` with the extension of the type its content has: 'Beleg.jpg' that is a PDF is sent as
    'Beleg.pdf'; a name without a known extension gets one ('scan' -> 'scan.pdf')."""
    stem, dot, ext = name.rpartition(".")
    wanted = EXTENSIONS[kind]
    if dot and stem and f".{ext.lower()}" in _KNOWN:
        if _KNOWN[f".{ext.lower()}"] == kind:
            return name
        return stem + wanted
    return name + wanted
