"""File names that came from outside (uploads, artifacts) made safe to write to a folder."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 120
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def safe_filename(name: str, fallback: str = "file") -> str:
    """`name` without folders, control characters or characters file systems refuse, NFC, at most
    MAX_NAME_LENGTH characters (keeping the extension); `fallback` when nothing is left."""
    base = re.split(r"[/\\]", name)[-1]
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .")
    if not cleaned or set(cleaned) <= {"_"}:
        return fallback
    if len(cleaned) > MAX_NAME_LENGTH:
        _stem, dot, ext = cleaned.rpartition(".")
        keep = ext if dot and 0 < len(ext) <= 10 else ""
        cleaned = cleaned[: MAX_NAME_LENGTH - len(keep) - 1].rstrip(" .") + ("." + keep if keep else "")
    return cleaned
