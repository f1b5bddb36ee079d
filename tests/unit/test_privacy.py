"""IBANs are masked in texts, nested data and every log record."""

from __future__ import annotations

import io
import logging

from hypothesis import given, settings
from hypothesis import strategies as st

from bots.runtime import privacy
from bots.runtime.privacy import install_log_masking, mask_iban, mask_ibans, mask_text

IBAN = "DE89370400440532013000"


def test_mask_keeps_country_check_digits_and_last_four() -> None:
    assert mask_iban(IBAN) == "DE89 **** **** **** **30 00"
    assert mask_iban("de89 3704 0044 0532 0130 00") == "DE89 **** **** **** **30 00"


def test_mask_text_finds_grouped_and_compact_ibans() -> None:
    text = f"alt: DE89 3704 0044 0532 0130 00, neu: {IBAN}; Vertrag KV-4712-0002 bleibt."
    masked = mask_text(text)
    assert "0532" not in masked and masked.count("DE89 ****") == 2
    assert "KV-4712-0002" in masked


def test_mask_ibans_in_nested_payloads() -> None:
    payload = {"iban": IBAN, "policies": [{"note": f"von {IBAN}"}], "n": 3}
    assert mask_ibans(payload) == {
        "iban": "DE89 **** **** **** **30 00",
        "policies": [{"note": "von DE89 **** **** **** **30 00"}],
        "n": 3,
    }
    assert payload["iban"] == IBAN  # a copy; the original is untouched


def test_log_records_are_masked_whatever_the_logger() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("some.library")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    previous = logging.getLogRecordFactory()
    try:
        install_log_masking()
        install_log_masking()  # twice is harmless
        logger.info("changing %s for %s", IBAN, {"customer": "K1", "iban": IBAN})
        logger.info(f"plain message with {IBAN}")
    finally:
        logging.setLogRecordFactory(previous)
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert IBAN not in out and "0532" not in out
    assert out.count("DE89 **** **** **** **30 00") == 3


def test_url_encoded_and_loosely_spaced_ibans_are_masked() -> None:
    for written in (
        "DE89%203704%200044%200532%200130%2000",  # a URL the browser asked for
        "DE89+3704+0044+0532+0130+00",  # a form field, application/x-www-form-urlencoded
        "DE89  3704  0044  0532  0130  00",
        "DE89\t3704 0044\t0532 0130 00",
    ):
        masked = mask_text(f"GET /konten?iban={written}&x=1 failed")
        assert "0532" not in masked and "DE89 **** **** **** **30 00" in masked, masked
        assert masked.endswith("&x=1 failed")


def test_a_traceback_quoting_an_encoded_iban_is_masked() -> None:
    try:
        raise RuntimeError(
            "page /vertraege/KV-1/konten/debit?iban=DE89%203704%200044%200532%200130%2000 hung"
        )
    except RuntimeError as exc:
        import traceback

        text = mask_text("".join(traceback.format_exception(exc)))
    assert "0532" not in text and "KV-1" in text


def test_an_iban_in_a_look_up_path_is_masked_in_any_case_or_shape() -> None:
    for typed in ("de89%203704%200044", "DE89370400440532013000", "de8937040044053201300", "DE"):
        line = f'127.0.0.1:5555 - "GET /v1/iban/{typed} HTTP/1.1" 200'
        assert mask_text(line) == '127.0.0.1:5555 - "GET /v1/iban/*** HTTP/1.1" 200'


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["DE89", "de89", IBAN, "3704 0044", "%20", "+", " ", "/iban/", "/IBAN/", "x", "GB", "29"]
        )
        | st.text(max_size=6),
        max_size=12,
    )
)
def test_a_text_passed_over_unlooked_holds_no_iban(pieces: list[str]) -> None:
    """mask_text skips a text quickly when neither pattern could match; it must mask as the patterns do."""
    text = "".join(pieces)
    both = privacy.IBAN_PATH_RE.sub(r"\1***", text)
    both = privacy.IBAN_RE.sub(lambda m: mask_iban(m.group(0)), both)
    assert mask_text(text) == both
