"""The claims forwarder's settings: the insurer's, the file checks' limits and the routing table."""

from __future__ import annotations

from pydantic import Field

from bots.insurer.settings import InsurerSettings

MIB = 1024 * 1024
FILE_TYPES = ("pdf", "jpeg", "png")


class ClaimsSettings(InsurerSettings):
    """From PORTALBOTS_CLAIMS_* environment variables (lists and tables as JSON)."""

    claims_allowed_types: tuple[str, ...] = Field(
        default=FILE_TYPES, description=f"the file types accepted, by content: any of {', '.join(FILE_TYPES)}"
    )
    claims_max_files: int = Field(default=20, ge=1, description="files per submission")
    claims_max_file_bytes: int = Field(default=10 * MIB, ge=1, description="bytes per file (413 beyond)")
    claims_max_submission_bytes: int = Field(
        default=20 * MIB, ge=1, description="bytes of all files of a submission together (413 beyond)"
    )
    claims_max_pdf_pages: int = Field(default=50, ge=1, description="pages per PDF")
    claims_max_image_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="pixels per image (width × height): the decompression-bomb limit",
    )
    claims_check_seconds: float = Field(
        default=10.0, gt=0, description="wall time for checking one file in the isolated checker process"
    )
    claims_check_memory_mb: int = Field(
        default=1024, ge=128, description="address space of the isolated checker process"
    )
    claims_departments: dict[str, str] = Field(
        default={
            "Voll": "voll@leistung.portalbots.test",
            "Zusatz": "zusatz@leistung.portalbots.test",
            "Pflege": "pflege@leistung.portalbots.test",
        },
        description="routing table: the Krankenbereich of a KV policy (as the policy administration shows it) "
        "-> the mailbox of the department that settles its claims",
    )
    claims_department_names: dict[str, str] = Field(
        default={
            "Voll": "Leistungsabteilung Krankheitskosten-Vollversicherung",
            "Zusatz": "Leistungsabteilung Zusatzversicherung",
            "Pflege": "Leistungsabteilung Pflegeversicherung",
        },
        description="what the customer's receipt calls each department",
    )
