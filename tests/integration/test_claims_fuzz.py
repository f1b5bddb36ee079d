"""Fuzzing the claims forwarder with random and mutated bytes as attachments, end to end through the runner
against the sandbox: every input ends `done` or `rejected` with a reason naming the file — no crash, no hang
(bounded time per file), never `failed`."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.claims_forwarder.bot import ClaimsForwarderBot
from bots.claims_forwarder.settings import ClaimsSettings
from bots.runtime.bot import Registry
from bots.runtime.browser import ProcessBrowser
from bots.runtime.migrate import upgrade
from bots.runtime.runner import Runner
from bots.runtime.states import Status
from bots.runtime.store import Store, Upload
from tests.claims_files import jpeg, pdf, png
from tests.conftest import Sandbox

pytestmark = pytest.mark.browser

EXAMPLES = int(os.environ.get("CLAIMS_FUZZ_EXAMPLES", "80"))
CHECK_SECONDS = 5.0  # per file, in the checker; a run may take the check, the bundle and the mails
SEEDS = {
    "pdf": pdf(2),
    "jpeg": jpeg((160, 240)),
    "png": png((120, 80)),
    "png-rgb": png((64, 64), alpha=False),
}
MAGIC = (b"%PDF-1.7\n", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"PK\x03\x04")


@st.composite
def attachments(draw: st.DrawFn) -> bytes:
    """Random bytes, or a sound receipt with bytes flipped, cut off, spliced or padded."""
    how = draw(st.sampled_from(["random", "magic", "flip", "truncate", "splice", "insert"]))
    if how == "random":
        return draw(st.binary(max_size=4096))
    if how == "magic":
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=2048))
    seed = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    if how == "flip":
        for at, value in draw(
            st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), max_size=30)
        ):
            seed[at] = value
    elif how == "truncate":
        del seed[draw(st.integers(0, len(seed))) :]
    elif how == "splice":
        other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
        cut = draw(st.integers(0, min(len(seed), len(other))))
        seed = seed[:cut] + other[cut:]
    else:
        at = draw(st.integers(0, len(seed)))
        seed[at:at] = draw(st.binary(min_size=1, max_size=512))
    return bytes(seed)


@dataclass
class Rig:
    runner: Runner
    store: Store
    bot: ClaimsForwarderBot


@pytest.fixture(scope="module")
def rig(
    sandbox_module: Sandbox, process_browser: ProcessBrowser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rig]:
    sandbox_module.reset()
    tmp: Path = tmp_path_factory.mktemp("claims-fuzz")
    url = f"sqlite:///{tmp / 'runtime.db'}"
    upgrade(url)
    store = Store(url, sandbox_module.clock)
    bot = ClaimsForwarderBot(
        ClaimsSettings(
            policy_admin_url=sandbox_module.url, claims_check_seconds=CHECK_SECONDS, _env_file=None
        )  # type: ignore[call-arg]
    )
    runner = Runner(
        store, Registry([bot]), sandbox_module.runtime_settings(tmp), sandbox_module.clock,
        resources={"browser": process_browser},
    )  # fmt: skip
    yield Rig(runner, store, bot)
    bot.checker.close()
    store.dispose()


OUTCOMES: dict[str, int] = {}


@settings(
    max_examples=EXAMPLES,
    deadline=None,  # bounded below, per run, with the real limits
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=attachments())
def test_every_attachment_ends_done_or_rejected_with_a_reason(rig: Rig, data: bytes) -> None:
    # Hypothesis fixes the global `random` for each example; the outbox's Message-IDs (email.utils.make_msgid)
    # draw from it and would repeat within the same 10 ms
    random.seed(os.urandom(16))
    uploads = rig.bot.stored_uploads([Upload("Beleg.bin", "application/octet-stream", data)])
    fields = {"customer_id": ["K100006"], "policy_numbers": ["KV-4712-0004"], "message": ["Fuzz"]}
    item, _ = rig.store.submit(
        "claims_forwarder", rig.bot.payload_from_form(fields, uploads), customer_id="K100006", uploads=uploads
    )
    started = time.monotonic()
    done = rig.runner.run(item.id)
    elapsed = time.monotonic() - started
    assert done is not None
    assert done.status in (Status.DONE, Status.REJECTED), (done.status, done.error)
    assert elapsed < 2 * CHECK_SECONDS + 10, elapsed  # the check, the bundle, the page reads and the mails
    if done.status == Status.REJECTED:
        assert done.error is not None and done.error.code == "file_refused"
        assert "„Beleg.bin“" in done.error.message
    OUTCOMES[done.status.value] = OUTCOMES.get(done.status.value, 0) + 1
    if os.environ.get("CLAIMS_FUZZ_REPORT"):  # each outcome, to see what the strategy reaches (with -s)
        print(done.status.value, done.error.message.split("\n")[1][:90] if done.error else "", flush=True)


def test_the_fuzz_reached_both_outcomes() -> None:
    """Guards the strategy: mutations that still pass and ones that do not (runs after the fuzz)."""
    if not OUTCOMES:
        pytest.skip("the fuzz did not run in this session")
    assert OUTCOMES.get("done", 0) > 0 and OUTCOMES.get("rejected", 0) > 0, OUTCOMES
