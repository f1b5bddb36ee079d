"""The topology of docker-compose.yml, run as local processes.

The services' commands and their shared environment come from docker-compose.yml, so this test breaks
when the file and the `portalbots` command drift apart. Hosts and ports of the compose network are
replaced by loopback and free local ports, PostgreSQL and Redis are the test servers, the data dir lies
under tmp_path, and PORTALBOTS_CLOCK_SHIFT puts every process on a Tuesday 10:00 Europe/Berlin (in
service hours) whatever the wall clock says. Then 50 ARK certificate requests go in through the intake
as the portal sends them, two workers carry them out, and every customer's Postfach must hold exactly
one message per request.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
import yaml

from tests.conftest import PG_ADMIN_URL, empty_redis, free_port, unavailable

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TOPOLOGY_REDIS_DB = 11
REQUESTS = 50
WORKER_PROCESSES = 2
DONE_DEADLINE_SECONDS = 15 * 60
START_DEADLINE_SECONDS = 90
QUEUE = "ark_certificate"
COUNTRIES = ("TH", "FR", "US", "ES", "IT", "JP", "PT", "GR", "TR", "CA")
LANGUAGE_CHOICES = (["de"], ["en"], ["de", "en"], ["fr"], ["es", "de"], ["en", "fr"])
LOOPBACK = "127.0.0.1"
ANY_ADDRESS = "0.0.0.0"  # what the compose services bind; never bound here

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, and $$ for a literal $
INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(ValueError):
    """A ${NAME:?message} whose variable is not set: `docker compose` refuses to start."""


# -- reading docker-compose.yml as `docker compose` does ------------------------------------------------


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        given = variables.get(name)
        missing = given is None or (op is not None and op.startswith(":") and given == "")
        if not missing:
            return str(given)
        if op in (":?", "?"):
            raise MissingVariable(f"{name}: {arg}")
        return arg if op in (":-", "-") else ""

    return INTERPOLATION.sub(substitute, value)


def service_env(service: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
    """The service's environment; a key without a value passes the caller's variable on, if set."""
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping (the x-portalbots-env anchor)"
    out: dict[str, str] = {}
    for key, value in env.items():
        if value is None:
            if key in variables:
                out[key] = variables[key]
        else:
            out[key] = interpolate(str(value), variables)
    return out


def portalbots_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run a `portalbots` command, by name."""
    found = {}
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command and command[0] == "portalbots":
            found[name] = service
    return found


def by_command(services: Mapping[str, dict[str, Any]], *words: str) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services.items() if s["command"][1 : 1 + len(words)] == list(words)}


def only(services: Mapping[str, dict[str, Any]], what: str) -> tuple[str, dict[str, Any]]:
    assert len(services) == 1, f"expected exactly one {what} service, found {sorted(services)}"
    return next(iter(services.items()))


def queues_of(worker: Mapping[str, Any]) -> list[str]:
    command = worker["command"]
    assert "--queues" in command, f"a worker service names its queue: {command}"
    return str(command[command.index("--queues") + 1]).split(",")


def healthcheck_url(service: Mapping[str, Any]) -> str:
    test = " ".join(service["healthcheck"]["test"])
    match = re.search(r"https?://[^'\" ]+", test)
    assert match, f"no URL in the healthcheck {test!r}"
    return match.group(0)


# -- the compose file agrees with the CLI ---------------------------------------------------------------


def test_compose_file_agrees_with_the_cli() -> None:
    from bots.cli import parser
    from bots.runtime.bot import Registry

    compose = load_compose()
    services = compose["services"]
    ours = portalbots_services(compose)
    for name, service in ours.items():
        try:
            parser().parse_args(service["command"][1:])
        except SystemExit:
            pytest.fail(f"service {name}: `{' '.join(service['command'])}` is no valid portalbots command")

    with pytest.raises(MissingVariable, match="PORTALBOTS_INTAKE_TOKEN"):
        service_env(services["migrate"], {})
    with pytest.raises(MissingVariable, match="PORTALBOTS_SANDBOX_ADMIN_TOKEN"):
        service_env(services["sandbox"], {"PORTALBOTS_INTAKE_TOKEN": "secret"})
    variables = {"PORTALBOTS_INTAKE_TOKEN": "secret", "PORTALBOTS_SANDBOX_ADMIN_TOKEN": "admin-secret"}
    envs = {name: service_env(s, variables) for name, s in ours.items()}
    for name, env in envs.items():
        assert env["PORTALBOTS_INTAKE_TOKEN"] == "secret", name
        assert env["PORTALBOTS_CLOCK_SHIFT"] == "0", f"{name}: every process gets the same clock shift"
    shared = envs["migrate"]
    assert all(env.items() >= shared.items() for env in envs.values()), "one shared environment"

    # one-shot migration first; whatever uses the database starts after it succeeded
    _, migrate = only(by_command(ours, "db", "upgrade"), "db upgrade")
    assert migrate.get("restart") == "no"
    for name, service in ours.items():
        if service["command"][1] in ("intake", "worker", "beat"):
            condition = service["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully", name

    # a worker service per bot queue, exactly one beat
    workers = by_command(ours, "worker")
    served = Counter(q for w in workers.values() for q in queues_of(w))
    assert sorted(served) == sorted(Registry.discover("").queues) and set(served.values()) == {1}
    assert "worker-ark-certificate" in workers
    only(by_command(ours, "beat"), "beat")

    # addresses: the compose network's names, the ports the commands bind, the health endpoints
    assert urlsplit(shared["PORTALBOTS_DATABASE_URL"]).hostname == "postgres"
    assert shared["PORTALBOTS_DATABASE_URL"].startswith("postgresql://")
    broker = urlsplit(shared["PORTALBOTS_BROKER_URL"])
    assert broker.scheme == "redis" and broker.hostname == "redis"
    flower = services["flower"]
    assert flower["environment"]["CELERY_BROKER_URL"] == shared["PORTALBOTS_BROKER_URL"]
    assert "flower" in flower["command"]

    sandbox_name, sandbox = only(by_command(ours, "sandbox"), "sandbox")
    sandbox_env = envs[sandbox_name]
    sandbox_url = urlsplit(shared["PORTALBOTS_SANDBOX_URL"])
    assert sandbox_url.hostname == sandbox_name and shared["PORTALBOTS_SMTP_HOST"] == sandbox_name
    assert sandbox_url.port == int(shared["PORTALBOTS_SANDBOX_PORT"])
    # the sandbox binds PORTALBOTS_SANDBOX_HOST for its web UI and for the Postfach SMTP server
    assert sandbox_env["PORTALBOTS_SANDBOX_HOST"] == ANY_ADDRESS
    assert urlsplit(healthcheck_url(sandbox)).port == sandbox_url.port
    assert urlsplit(healthcheck_url(sandbox)).path == "/healthz"

    _, intake = only(by_command(ours, "intake"), "intake")
    assert intake["command"][intake["command"].index("--host") + 1] == ANY_ADDRESS
    assert "--port" not in intake["command"]  # the port comes from PORTALBOTS_INTAKE_PORT
    assert urlsplit(healthcheck_url(intake)).port == int(shared["PORTALBOTS_INTAKE_PORT"])
    assert urlsplit(healthcheck_url(intake)).path == "/healthz"


# -- the topology as local processes --------------------------------------------------------------------


def localize(
    env: Mapping[str, str],
    service_names: set[str],
    ports: dict[int, int],
    *,
    database_url: str,
    broker_url: str,
    data_dir: Path,
) -> dict[str, str]:
    """The compose environment with the compose network's hosts and ports replaced by local ones."""
    out: dict[str, str] = {}
    for key, value in env.items():
        url = urlsplit(value) if "://" in value else None
        if url is not None and url.hostname in service_names:
            if url.scheme.startswith("postgresql"):
                value = database_url
            elif url.scheme.startswith("redis"):
                value = broker_url
            else:
                assert url.port in ports, f"{key}: port {url.port} is bound by no PORTALBOTS_*_PORT"
                value = url._replace(netloc=f"{LOOPBACK}:{ports[url.port]}").geturl()
        elif key.endswith("_HOST") and (value in service_names or value == ANY_ADDRESS):
            value = LOOPBACK
        elif key.endswith("_PORT"):
            value = str(ports[int(value)])
        elif key == "PORTALBOTS_DATA_DIR":
            value = str(data_dir)
        out[key] = value
    return out


def open_tuesday(now: datetime, env: Mapping[str, str]) -> datetime:
    """The next Tuesday 10:00 Europe/Berlin on which the core systems are in service all day."""
    from bots.runtime.calendar import ServiceCalendar
    from bots.runtime.settings import Settings

    with pytest.MonkeyPatch.context() as mp:  # the settings the processes will read
        for key in [k for k in os.environ if k.startswith("PORTALBOTS_")]:
            mp.delenv(key)
        for key, value in env.items():
            mp.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
    calendar = ServiceCalendar.from_settings("policy_admin", settings)
    tz = ZoneInfo("Europe/Berlin")
    day = now.astimezone(tz).date() + timedelta(days=1)
    for _ in range(400):
        if day.weekday() == 1:
            at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=tz)
            if calendar.is_open(at) and calendar.is_open(at + timedelta(hours=8)):
                return at
        day += timedelta(days=1)
    raise AssertionError("no Tuesday in service within a year; check the service calendar settings")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    fh: IO[bytes]

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Topology:
    """The processes started from the compose services, each in its own process group."""

    tmp_path: Path
    base_env: dict[str, str]
    procs: list[Process] = field(default_factory=list)

    def popen_args(self, command: list[str], env: Mapping[str, str]) -> dict[str, Any]:
        assert command[0] == "portalbots"
        args = [LOOPBACK if arg == ANY_ADDRESS else str(arg) for arg in command[1:]]
        return dict(
            args=[sys.executable, "-m", "bots.cli", *args],
            cwd=self.tmp_path,
            env={**self.base_env, **env},
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, name: str) -> Path:
        folder = self.tmp_path / "logs"
        folder.mkdir(exist_ok=True)
        return folder / f"{name}.log"

    def run(self, name: str, command: list[str], env: Mapping[str, str], timeout: float = 180) -> None:
        log = self.log(name)
        with log.open("ab") as fh:
            done = subprocess.run(**self.popen_args(command, env), stdout=fh, timeout=timeout)
        assert done.returncode == 0, f"{name} exited with {done.returncode}:\n{tail(log)}"

    def start(self, name: str, command: list[str], env: Mapping[str, str]) -> Process:
        log = self.log(name)
        fh = log.open("ab")
        proc = Process(name, subprocess.Popen(**self.popen_args(command, env), stdout=fh), log, fh)
        self.procs.append(proc)
        return proc

    def check_alive(self) -> None:
        dead = [p for p in self.procs if not p.alive()]
        if dead:
            pytest.fail(
                "stopped: " + ", ".join(f"{p.name} (exit {p.popen.returncode})" for p in dead) + self.tails()
            )

    def tails(self, chars: int = 3000) -> str:
        logs = sorted(self.log("x").parent.glob("*.log"))
        return "".join(f"\n----- {log.name} (tail) -----\n{tail(log, chars)}" for log in logs)

    def stop(self) -> None:
        """SIGTERM to every process group (warm shutdown), then SIGKILL to whatever is left."""
        for proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 45
        for proc in self.procs:
            try:
                proc.popen.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs:
            _signal_group(proc, signal.SIGKILL)  # also Chromiums a dead leader left behind
            if proc.alive():
                proc.popen.wait(10)
            proc.fh.close()


def _signal_group(proc: Process, sig: signal.Signals) -> None:
    try:
        os.killpg(proc.popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty PostgreSQL database; `portalbots db upgrade` creates the schema."""
    name = f"pb_topology_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        admin.dispose()
        unavailable("PostgreSQL")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def fresh_broker() -> Iterator[str]:
    yield from empty_redis(TOPOLOGY_REDIS_DB)


def wait_healthy(topology: Topology, proc: Process, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        topology.check_alive()
        try:
            r = httpx.get(url, timeout=5)
            if r.status_code == 200:
                return r.json()  # type: ignore[no-any-return]
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{proc.name} did not answer on {url}{topology.tails()}")


def ark_policies(sandbox_url: str, admin: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Active, unended ARK policies of the seeded customers covering all COUNTRIES, from the admin API."""
    # the sandbox seeds 50 customers into an empty database; seeding the same again returns them
    seeded = httpx.post(f"{sandbox_url}/admin/seed", json={"customers": 50}, headers=admin, timeout=60)
    seeded.raise_for_status()
    found = [
        (c["customer_id"], p)
        for c in seeded.json()["customers"]
        for p in c["policies"]
        if p["line"] == "ARK" and p["status"] == "aktiv" and p["end_date"] is None
        and p["travel_cover"]["area"] == "WORLD_EXCEPT_DE"  # a Europe-only tariff does not cover TH
    ]  # fmt: skip
    assert len(found) >= 10, f"only {len(found)} active ARK policies seeded"
    return found


def ark_requests(policies: list[tuple[str, dict[str, Any]]], today: datetime) -> list[dict[str, Any]]:
    bodies = []
    for n in range(REQUESTS):
        customer, policy = policies[n % len(policies)]
        start = today.date() + timedelta(days=19 + n % 7)  # in about three weeks
        days = min(5 + n % 10, int(policy["max_trip_days"]))
        bodies.append(
            {
                "customer_id": customer,
                "policy_number": policy["policy_number"],
                "travel_start": start.isoformat(),
                "travel_end": (start + timedelta(days=days - 1)).isoformat(),
                "country": COUNTRIES[n % len(COUNTRIES)],
                "languages": LANGUAGE_CHOICES[n % len(LANGUAGE_CHOICES)],
            }
        )
    return bodies


@contextmanager
def log_tails_on_failure(topology: Topology) -> Iterator[None]:
    try:
        yield
    except BaseException:
        sys.stderr.write(topology.tails())
        raise
    finally:
        topology.stop()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.browser
@pytest.mark.timeout(DONE_DEADLINE_SECONDS + 600)
def test_compose_topology_serves_fifty_requests(
    tmp_path: Path, fresh_database: str, fresh_broker: str
) -> None:
    compose = load_compose()
    ours = portalbots_services(compose)
    service_names = set(compose["services"])
    token = secrets.token_urlsafe(24)

    # the environment of every service, first without the clock shift to find the Tuesday
    admin_token = secrets.token_urlsafe(24)
    secrets_ = {"PORTALBOTS_INTAKE_TOKEN": token, "PORTALBOTS_SANDBOX_ADMIN_TOKEN": admin_token}
    raw_envs = {n: service_env(s, secrets_) for n, s in ours.items()}
    ports = {int(v): free_port() for env in raw_envs.values() for k, v in env.items() if k.endswith("_PORT")}
    data_dir = tmp_path / "var"
    local = dict(database_url=fresh_database, broker_url=fresh_broker, data_dir=data_dir)
    now = datetime.now(UTC)
    tuesday = open_tuesday(now, localize(raw_envs["migrate"], service_names, ports, **local))
    shift = f"{(tuesday - now).total_seconds():.3f}"
    variables = {**secrets_, "PORTALBOTS_CLOCK_SHIFT": shift}
    envs = {n: localize(service_env(s, variables), service_names, ports, **local) for n, s in ours.items()}
    assert {env["PORTALBOTS_CLOCK_SHIFT"] for env in envs.values()} == {shift}
    chromium = envs["worker-ark-certificate"]["PORTALBOTS_CHROMIUM_PATH"]
    if not Path(chromium).exists():
        unavailable(f"Chromium at {chromium}")

    base = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    base["PYTHONPATH"] = str(ROOT)
    topology = Topology(tmp_path, base)

    def local_url(url: str) -> str:
        parts = urlsplit(url)
        assert parts.port in ports, f"{url}: port bound by no PORTALBOTS_*_PORT"
        return parts._replace(netloc=f"{LOOPBACK}:{ports[parts.port]}").geturl()

    started = time.monotonic()
    with log_tails_on_failure(topology):
        migrate_name, migrate = only(by_command(ours, "db", "upgrade"), "db upgrade")
        topology.run(migrate_name, migrate["command"], envs[migrate_name])

        sandbox_name, sandbox = only(by_command(ours, "sandbox"), "sandbox")
        sandbox_proc = topology.start(sandbox_name, sandbox["command"], envs[sandbox_name])
        health = wait_healthy(topology, sandbox_proc, local_url(healthcheck_url(sandbox)))
        assert health["service_open"] is True, f"the clock shift should put the sandbox in service: {health}"
        sandbox_now = datetime.fromisoformat(health["now"]).astimezone(ZoneInfo("Europe/Berlin"))
        assert sandbox_now.weekday() == 1 and sandbox_now.hour == 10, sandbox_now

        intake_name, intake = only(by_command(ours, "intake"), "intake")
        intake_proc = topology.start(intake_name, intake["command"], envs[intake_name])
        assert wait_healthy(topology, intake_proc, local_url(healthcheck_url(intake))) == {"status": "ok"}

        worker_name = "worker-ark-certificate"
        assert queues_of(ours[worker_name]) == [QUEUE]
        for n in range(WORKER_PROCESSES):
            topology.start(f"{worker_name}-{n + 1}", ours[worker_name]["command"], envs[worker_name])
        beat_name, beat = only(by_command(ours, "beat"), "beat")
        topology.start(beat_name, beat["command"], envs[beat_name])

        # the portal and the bots reach intake and sandbox at the addresses the environment names
        intake_url = f"http://{LOOPBACK}:{envs[intake_name]['PORTALBOTS_INTAKE_PORT']}"
        sandbox_url = envs[worker_name]["PORTALBOTS_SANDBOX_URL"]
        admin = {"Authorization": f"Bearer {admin_token}"}

        # the portal sends 50 valid requests
        bodies = ark_requests(ark_policies(sandbox_url, admin), sandbox_now)
        portal = httpx.Client(base_url=intake_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        items: dict[int, dict[str, Any]] = {}
        with portal:
            for n, body in enumerate(bodies):
                r = portal.post(
                    "/v1/ark-certificates", json=body, headers={"Idempotency-Key": f"topology-{n:03d}"}
                )
                assert r.status_code == 202, r.text
                assert r.headers.get("Idempotent-Replayed") is None
                items[r.json()["id"]] = body
            assert len(items) == REQUESTS

            # wait until all are done (polling their status as the portal would)
            statuses: dict[int, dict[str, Any]] = {}
            deadline = time.monotonic() + DONE_DEADLINE_SECONDS
            while len(statuses) < REQUESTS:
                topology.check_alive()
                for item_id in [i for i in items if i not in statuses]:
                    status = portal.get(f"/v1/items/{item_id}").json()
                    if status["status"] == "done":
                        statuses[item_id] = status
                    elif status["status"] not in ("pending", "running", "deferred"):
                        pytest.fail(f"item {item_id} ended {status['status']}: {status}")
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"only {len(statuses)} of {REQUESTS} items done after {DONE_DEADLINE_SECONDS} s"
                    )
                time.sleep(1.0)
        elapsed = time.monotonic() - started

        # every customer's Postfach holds exactly one message per item, with a PDF per language
        per_customer: dict[str, list[int]] = defaultdict(list)
        for item_id, body in items.items():
            per_customer[body["customer_id"]].append(item_id)
        for customer, ids in per_customer.items():
            answer = httpx.get(f"{sandbox_url}/admin/postfach/{customer}", headers=admin, timeout=30)
            messages = answer.json()["messages"]
            got = Counter(m["message_id"] for m in messages)
            expected = Counter(statuses[i]["result"]["message_id"] for i in ids)
            assert got == expected, f"Postfach of {customer}: {got} != {expected}"
            by_id = {m["message_id"]: m for m in messages}
            for i in ids:
                message = by_id[statuses[i]["result"]["message_id"]]
                assert len(message["attachments"]) == len(items[i]["languages"])
                assert all(a["content_type"] == "application/pdf" for a in message["attachments"])

        topology.check_alive()
        assert len(topology.procs) == 5  # sandbox, intake, two workers, beat
        print(f"{REQUESTS} requests done by {WORKER_PROCESSES} workers in {elapsed:.0f} s")
