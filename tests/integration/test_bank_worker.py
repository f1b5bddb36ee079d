"""The bank change in a real `portalbots worker` process, killed between the two policies of a request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from bots.runtime.clock import FixedClock, SystemClock
from bots.runtime.dispatch import CeleryDispatcher, configure
from bots.runtime.maintenance import tick
from bots.runtime.settings import Settings
from bots.runtime.states import Status
from bots.runtime.store import Store
from tests.conftest import SANDBOX_CUSTOMERS, Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NEW_IBAN = "DE89370400440532013000"
FIRST, SECOND = "LV-4713-0005", "KV-4712-0010"  # K100012: two calm policies
WAIT_SECONDS = 90.0


def wait_until(what: str, done: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"never {what}\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "worker", "--queues", "bank_change", "--concurrency", "1"],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the worker, its pool process, the driver, Chromium
            self.proc.wait(10)
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._out.close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def test_a_worker_killed_between_two_policies_changes_each_once_and_sends_one_letter(
    sandbox: Sandbox, db_url: str, chromium: str, tmp_path: Path, workers: list[Worker]
) -> None:
    sandbox.admin.post("/admin/seed", json={"customers": SANDBOX_CUSTOMERS}).raise_for_status()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(
        PYTHONPATH=str(ROOT),
        PORTALBOTS_DATA_DIR=str(tmp_path / "var"),
        PORTALBOTS_DATABASE_URL=db_url,
        PORTALBOTS_SANDBOX_URL=sandbox.url,
        PORTALBOTS_SMTP_HOST=sandbox.server.smtp_host,
        PORTALBOTS_SMTP_PORT=str(sandbox.server.smtp_port),
        PORTALBOTS_SERVICE_HOURS="mon-sun 00:00-24:00",
        PORTALBOTS_HOLIDAY_STATE="",
        PORTALBOTS_CLOSING_DAYS="",
        PORTALBOTS_CHROMIUM_PATH=chromium,
    )
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None)  # type: ignore[call-arg]
    celery = configure(settings, Celery("bank-worker-test"))
    dispatcher = CeleryDispatcher(celery)
    store = Store(db_url, SystemClock())

    def accounts(policy: str) -> dict[str, Any]:
        return dict(sandbox.admin.get(f"/admin/policies/{policy}/accounts").json())

    def debit(policy: str) -> str:
        return str(next(a["iban"] for a in accounts(policy)["accounts"] if a["role"] == "debit"))

    def letters() -> list[dict[str, Any]]:
        return [m for m in sandbox.postfach("K100012") if m["attachments"]]

    before = {policy: debit(policy) for policy in (FIRST, SECOND)}
    sent = len(letters())
    try:
        # the second policy's form never answers: the worker is caught right after the first change
        sandbox.set_faults(hang_paths=[f"/vertraege/{SECOND}/konten"])
        payload = {
            "customer_id": "K100012",
            "iban": NEW_IBAN,
            "policies": [{"policy_number": p, "roles": ["debit"]} for p in (FIRST, SECOND)],
        }
        item, _ = store.submit("bank_change", payload, customer_id="K100012")
        dispatcher.enqueue(item)
        log = tmp_path / "worker.log"
        workers.append(Worker(env, log))
        wait_until("changed the first policy", lambda: debit(FIRST) == NEW_IBAN, log)
        running = store.get(item.id)
        assert running.status == Status.RUNNING and debit(SECOND) == before[SECOND]

        workers[0].kill()  # SIGKILL in the middle of the request
        sandbox.set_faults(hang_paths=[])
        workers.append(Worker(env, tmp_path / "worker-2.log"))
        assert running.lease_expires is not None
        reaper = Store(db_url, FixedClock(running.lease_expires + timedelta(seconds=1)))
        try:
            assert tick(reaper, dispatcher)["reaped"] == 1  # the lease ran out: the item is sent again
        finally:
            reaper.dispose()
        wait_until("finished", lambda: store.get(item.id).status == Status.DONE, tmp_path / "worker-2.log")

        final = store.get(item.id)
        assert final.attempts == 2
        for policy in (FIRST, SECOND):
            assert debit(policy) == NEW_IBAN
            mine = [h for h in accounts(policy)["history"] if h["new_iban"] == NEW_IBAN]
            assert [(h["role"], h["old_iban"], h["authority"]) for h in mine] == [
                ("debit", before[policy], "bot")
            ]
        assert len(letters()) == sent + 1
    finally:
        store.dispose()
        celery.close()
