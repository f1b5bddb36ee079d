"""The `portalbots` command as operators and the portal team script it: real processes, real ports."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bots.runtime.store import Store
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
    admin = {"Authorization": "Bearer dev-sandbox-admin-token"}
    policy = httpx.get(f"http://127.0.0.1:{http}/admin/policies/ARK-4711-0001", headers=admin).json()
    assert policy["policy"]["line"] == "ARK"


@pytest.mark.parametrize("token", ["", "2short"])
def test_intake_refuses_to_start_without_a_real_secret(env: dict[str, str], token: str) -> None:
    run = portalbots({**env, "PORTALBOTS_INTAKE_TOKEN": token}, "intake", "--host", "0.0.0.0")
    assert run.returncode == 2
    assert "PORTALBOTS_INTAKE_TOKEN must be at least 16 characters" in " ".join(run.stderr.split())


def test_the_sandbox_serves_beyond_loopback_only_when_told(env: dict[str, str]) -> None:
    run = portalbots({**env, "PORTALBOTS_SANDBOX_HOST": "0.0.0.0"}, "sandbox")
    assert run.returncode == 2 and "PORTALBOTS_SANDBOX_ALLOW_REMOTE" in " ".join(run.stderr.split())


def test_intake_refuses_the_development_token_off_loopback(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "PORTALBOTS_INTAKE_TOKEN"}
    run = portalbots(env, "intake", "--host", "0.0.0.0", "--port", str(free_port()))
    assert run.returncode == 2 and "PORTALBOTS_INTAKE_TOKEN" in run.stderr


def test_the_data_folder_and_its_files_are_private(env: dict[str, str], tmp_path: Path) -> None:
    assert portalbots(env, "db", "upgrade").returncode == 0
    assert portalbots(env, "submit", "ark-certificates", "--json", json.dumps(REQUEST)).returncode == 0
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    files = [p for p in var.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), [
        (p, oct(p.stat().st_mode)) for p in files
    ]
    folders = [p for p in var.rglob("*") if p.is_dir()]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in folders)


def test_export_writes_every_file_safely_or_says_which_failed(env: dict[str, str], tmp_path: Path) -> None:
    assert portalbots(env, "db", "upgrade").returncode == 0
    store = Store(f"sqlite:///{tmp_path / 'var' / 'portalbots.db'}")
    item, _ = store.submit("ark_certificate", {"customer_id": "K1"})
    names = ["Bescheinigung\x00.pdf", "../../outside.txt", "ok.pdf", "victim.txt"]
    arts = [
        store.add_artifact(item.id, f"data {n!r}".encode(), "text/plain", n, "certificate") for n in names
    ]
    store.dispose()
    target = tmp_path / "export"
    target.mkdir()
    outside = tmp_path / "outside-target.txt"
    (target / f"{arts[3].id}-victim.txt").symlink_to(outside)  # planted before the export

    run = portalbots(env, "artifacts", "export", str(item.id), str(target))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert f"artifacts not exported: {arts[3].id}" in " ".join(run.stderr.split())
    assert not outside.exists()  # the link was not followed
    written = sorted(p.name for p in target.iterdir() if not p.is_symlink())
    assert written == sorted(
        [f"{arts[0].id}-Bescheinigung_.pdf", f"{arts[1].id}-outside.txt", f"{arts[2].id}-ok.pdf"]
    )
    assert not (tmp_path / "outside.txt").exists()
    assert (target / f"{arts[2].id}-ok.pdf").read_bytes() == b"data 'ok.pdf'"


def test_intake_serves_with_several_worker_processes(
    env: dict[str, str], serving: list[subprocess.Popen[bytes]]
) -> None:
    assert portalbots(env, "db", "upgrade").returncode == 0
    port = free_port()
    serving.append(serve({**env, "PORTALBOTS_INTAKE_WORKERS": "2"}, "intake", "--port", str(port)))
    base = f"http://127.0.0.1:{port}"
    assert wait_healthy(f"{base}/healthz", serving[0]) == {"status": "ok"}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ids = {
        httpx.post(f"{base}/v1/ark-certificates", json=REQUEST, headers=auth).json()["id"] for _ in range(6)
    }
    assert len(ids) == 6
    workers = [p for p in Path("/proc").glob("[0-9]*") if _parent(p) == serving[0].pid]
    assert len(workers) >= 2, "uvicorn started its worker processes"


def _parent(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


@pytest.mark.parametrize("token", [None, "dev-sandbox-admin-token", "2short"])
def test_a_sandbox_served_beyond_loopback_needs_its_own_admin_secret(
    env: dict[str, str], token: str | None
) -> None:
    told = {**env, "PORTALBOTS_SANDBOX_HOST": "0.0.0.0", "PORTALBOTS_SANDBOX_ALLOW_REMOTE": "true"}
    told.pop("PORTALBOTS_SANDBOX_ADMIN_TOKEN", None)
    run = portalbots({**told, **({"PORTALBOTS_SANDBOX_ADMIN_TOKEN": token} if token else {})}, "sandbox")
    assert run.returncode == 2 and "PORTALBOTS_SANDBOX_ADMIN_TOKEN" in " ".join(run.stderr.split())


def test_clerks_work_their_cases_from_the_terminal(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PORTALBOTS_BOTS": "tests.bots_for_tests:EchoBot"}
    assert portalbots(env, "db", "upgrade").returncode == 0
    iban = "DE89370400440532013000"
    store = Store(f"sqlite:///{tmp_path / 'var' / 'portalbots.db'}")
    item, _ = store.submit("echo", {"customer_id": "K1", "action": "guarded"}, customer_id="K1")
    claimed = store.claim(item.id, "worker", timedelta(minutes=5))
    assert claimed is not None
    _, case = store.hand_off(
        claimed,
        unit="Kranken",
        reason_code="dunning_active",
        note=f"Konto {iban}",
        case_due=timedelta(days=2),
        actor="w",
    )
    store.dispose()

    def said(run: subprocess.CompletedProcess[str]) -> str:
        return " ".join((run.stdout + run.stderr).split())

    listed = portalbots(env, "cases", "list", "--unit", "Kranken", "--status", "open,claimed", "--json")
    assert [c["id"] for c in json.loads(listed.stdout)] == [case.id] and iban not in listed.stdout
    assert json.loads(portalbots(env, "cases", "list", "--unit", "Leben", "--json").stdout) == []
    table = portalbots(env, "cases", "list")
    assert table.returncode == 0 and "Kranken" in table.stdout and iban not in table.stdout
    assert portalbots(env, "cases", "list", "--status", "closed").returncode == 2

    shown = portalbots(env, "cases", "show", str(case.id))
    assert shown.returncode == 0 and "Trotzdem ausführen" in shown.stdout and iban not in shown.stdout
    offered = json.loads(portalbots(env, "cases", "show", str(case.id), "--json").stdout)["resolutions"]
    assert [r["code"] for r in offered] == ["done_manually", "reject", "back_to_bot", "apply_anyway"]
    assert portalbots(env, "cases", "show", "999").returncode == 1

    claim = portalbots(env, "cases", "claim", str(case.id), "--as", "clerk.a")
    assert claim.returncode == 0 and json.loads(claim.stdout)["assignee"] == "clerk.a"
    resolve = ("cases", "resolve", str(case.id), "--as")
    mine = portalbots(env, *resolve, "clerk.b", "--resolution", "done_manually")
    assert mine.returncode == 1 and "claimed by clerk.a" in said(mine)
    unknown = portalbots(env, *resolve, "clerk.a", "--resolution", "approve")
    assert unknown.returncode == 1
    assert "valid: done_manually, reject, back_to_bot, apply_anyway" in said(unknown)
    no_note = portalbots(env, *resolve, "clerk.a", "--resolution", "apply_anyway")
    assert no_note.returncode == 2 and "needs a note" in said(no_note)

    done = portalbots(env, *resolve, "clerk.a", "--resolution", "apply_anyway", "--note", f"bezahlt, {iban}")
    assert done.returncode == 0, done.stderr
    decided = json.loads(done.stdout)
    assert decided["case"]["resolution"] == "apply_anyway" and decided["case"]["status"] == "resolved"
    assert decided["case"]["resolution_title"] == "Trotzdem ausführen"
    assert decided["item"]["status"] == "pending" and iban not in done.stdout
    store = Store(f"sqlite:///{tmp_path / 'var' / 'portalbots.db'}")
    assert store.get(item.id).progress["clerk_authority"]["clerk"] == "clerk.a"
    store.dispose()
