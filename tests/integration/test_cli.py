"""The `portalbots` command as operators and the portal team script it: real processes, real ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
REQUEST = {
    "customer_id": "K100001",
    "policy_number": "ARK-4711-0001",
    "travel_start": "2027-03-01",
    "travel_end": "2027-03-10",
    "country": "TH",
    "languages": ["de", "fr"],
}

pytestmark = pytest.mark.slow
TOKEN = "cli-test-token-0123456789"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(PYTHONPATH=str(ROOT), PORTALBOTS_DATA_DIR=str(tmp_path / "var"), PORTALBOTS_INTAKE_TOKEN=TOKEN)
    return env


def portalbots(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def serve(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "bots.cli", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def serving(env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        proc.wait(20)


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server exited with {proc.returncode}"
        try:
            return httpx.get(url, timeout=2).json()  # type: ignore[no-any-return]
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer")


def test_submit_list_show_and_export(env: dict[str, str], tmp_path: Path) -> None:
    assert portalbots(env, "db", "upgrade").returncode == 0
    first = portalbots(env, "submit", "ark-certificates", "--json", json.dumps(REQUEST), "--key", "p-1")
    assert first.returncode == 0, first.stderr
    item = json.loads(first.stdout)
    assert item["created"] is True and item["reference"] == "p-1"
    again = portalbots(env, "submit", "ark_certificate", "--json", json.dumps(REQUEST), "--key", "p-1")
    assert json.loads(again.stdout)["id"] == item["id"] and json.loads(again.stdout)["created"] is False

    bad = portalbots(env, "submit", "ark-certificates", "--json", json.dumps({**REQUEST, "country": "XX"}))
    assert bad.returncode != 0 and "country" in bad.stderr

    listed = json.loads(portalbots(env, "items", "list", "--json").stdout)
    assert [i["id"] for i in listed] == [item["id"]]
    shown = json.loads(portalbots(env, "items", "show", str(item["id"]), "--json").stdout)
    assert shown["status"] == "pending" and shown["payload"]["country"] == "TH"
    assert portalbots(env, "items", "show", "999").returncode != 0


def test_intake_serves_the_portal(
    env: dict[str, str], serving: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    assert portalbots(env, "db", "upgrade").returncode == 0
    port = free_port()
    serving.append(serve(env, "intake", "--port", str(port)))
    base = f"http://127.0.0.1:{port}"
    assert wait_healthy(f"{base}/healthz", serving[0]) == {"status": "ok"}
    auth = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "portal-77"}
    r = httpx.post(f"{base}/v1/ark-certificates", json=REQUEST, headers=auth)
    assert r.status_code == 202, r.text
    status = httpx.get(f"{base}{r.headers['Location']}", headers=auth).json()
    assert status["status"] == "pending" and status["reference"] == "portal-77"
    assert "/v1/ark-certificates" in httpx.get(f"{base}/openapi.json").json()["paths"]


def test_sandbox_serves_and_seeds(env: dict[str, str], serving: list[subprocess.Popen[bytes]]) -> None:
    seeded = portalbots(env, "sandbox", "seed", "--customers", "5", "--json")
    assert seeded.returncode == 0, seeded.stderr
    assert len(json.loads(seeded.stdout)["customers"]) == 5
    http, smtp = free_port(), free_port()
    env = {**env, "PORTALBOTS_SANDBOX_PORT": str(http), "PORTALBOTS_SMTP_PORT": str(smtp)}
    serving.append(serve(env, "sandbox"))
    health = wait_healthy(f"http://127.0.0.1:{http}/healthz", serving[0])
    assert health["status"] == "ok" and "service_open" in health
    policy = httpx.get(f"http://127.0.0.1:{http}/admin/policies/ARK-4711-0001").json()
    assert policy["policy"]["line"] == "ARK"


@pytest.mark.parametrize("token", ["", "2short"])
def test_intake_refuses_to_start_without_a_real_secret(env: dict[str, str], token: str) -> None:
    run = portalbots({**env, "PORTALBOTS_INTAKE_TOKEN": token}, "intake", "--host", "0.0.0.0")
    assert run.returncode == 2
    assert "PORTALBOTS_INTAKE_TOKEN must be at least 16 characters" in " ".join(run.stderr.split())


def test_intake_refuses_the_development_token_off_loopback(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "PORTALBOTS_INTAKE_TOKEN"}
    run = portalbots(env, "intake", "--host", "0.0.0.0", "--port", str(free_port()))
    assert run.returncode == 2 and "PORTALBOTS_INTAKE_TOKEN" in run.stderr
