"""The process browser against real Chromium and a local page server: reuse, isolation, evidence, crash, fork."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import select
import signal
import socket
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery import signals
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bots.runtime import browser as browser_mod
from bots.runtime import (
    dispatch,  # noqa: F401  (connects the worker signal handlers)
    stopping,
)
from bots.runtime.browser import (
    SCREENSHOT_KIND,
    TRACE_KIND,
    VIEWPORT,
    ProcessBrowser,
    process_browser,
    shutdown,
)
from bots.runtime.clock import FixedClock
from bots.runtime.context import Context
from bots.runtime.errors import Reject
from bots.runtime.mail import Mailer
from bots.runtime.migrate import upgrade
from bots.runtime.privacy import mask_iban
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.conftest import free_port

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TALL_PX = 2400

PAGES = {
    "/": '<html><body><h1 id="title">Vertragsübersicht</h1><p id="vsnr">ARK-1001</p></body></html>',
    "/tall": (
        '<html><body style="margin:0"><h1 id="title">Lang</h1>'
        f'<div style="height:{TALL_PX}px;background:linear-gradient(#fff,#36c)"></div></body></html>'
    ),
}


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/set-cookie/"):
            value = self.path.rsplit("/", 1)[1]
            self._send("<p>gesetzt</p>", [("Set-Cookie", f"session={value}; Path=/")])
        elif self.path.startswith("/login/"):  # a server session: a cookie no script can read or set
            value = self.path.rsplit("/", 1)[1]
            self._send("<p>angemeldet</p>", [("Set-Cookie", f"login={value}; Path=/; HttpOnly")])
        elif self.path == "/whoami":
            self._send(f'<p id="cookie">{self.headers.get("Cookie") or "none"}</p>')
        elif self.path in PAGES:
            self._send(PAGES[self.path])
        else:
            self.send_error(404)

    def _send(self, body: str, headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("browser"), smtp_port=1, chromium_path=chromium)


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A SQLite store for the tests whose point is not where artifacts go (those use `store`, every backend)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('items') / 'runtime.db'}"
    upgrade(url)
    s = Store(url, FixedClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)))
    yield s
    s.dispose()


@pytest.fixture(scope="module")
def shared(settings: Settings) -> Iterator[ProcessBrowser]:
    """One browser for the tests that neither kill nor close it (tracing every item)."""
    pb = ProcessBrowser(settings, trace="always")
    yield pb
    pb.close()


@pytest.fixture
def own(settings: Settings) -> Iterator[ProcessBrowser]:
    """A browser for one test that kills, closes or forks it."""
    pb = ProcessBrowser(settings, trace="always")
    yield pb
    pb.close()


def make_ctx(store: Store, settings: Settings, pb: ProcessBrowser, ref: str) -> Context:
    store.submit("echo", {"customer_id": "K1", "text": ref}, customer_id="K1", reference=ref)
    item = store.claim_next("echo", "test-worker", lease=timedelta(minutes=5))
    assert item is not None
    return Context(
        item=item,
        store=store,
        settings=settings,
        clock=store.clock,
        mailer=Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from),
        calendars={},
        resources={"browser": pb},
        log=logging.getLogger("test.browser"),
    )


def chromium_main_pids() -> set[int]:
    """Chromium browser processes (not renderers) below this process: the driver starts them."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def below_me(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    found = set()
    for pid in parents:
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--remote-debugging-pipe" in argv and not any(a.startswith(b"--type=") for a in argv):
            if below_me(pid) and alive(pid):
                found.add(pid)
    # A child Chromium has just forked (zygote, crashpad) still wears its parent's command line for a moment.
    return {pid for pid in found if parents.get(pid) not in found}


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_page_opens_and_reads_text(
    shared: ProcessBrowser, site: str, items: Store, settings: Settings
) -> None:
    ctx = make_ctx(items, settings, shared, "read")
    with ctx.browser(base_url=site) as page:
        page.goto("/")
        assert page.locator("#title").inner_text() == "Vertragsübersicht"
        assert page.locator("#vsnr").inner_text() == "ARK-1001"
    assert items.artifacts(ctx.item.id) == []
    assert page.is_closed() and page.context.pages == []


def test_items_get_isolated_contexts_in_one_reused_browser(
    shared: ProcessBrowser, site: str, items: Store, settings: Settings
) -> None:
    a = make_ctx(items, settings, shared, "a")
    b = make_ctx(items, settings, shared, "b")
    with a.browser(base_url=site) as page_a:
        page_a.goto("/set-cookie/item-a")
        page_a.goto("/whoami")
        assert page_a.locator("#cookie").inner_text() == "session=item-a"
        browser = shared.browser()
        launches = shared.launches
        with b.browser(base_url=site) as page_b:  # open at the same time as a's
            page_b.goto("/whoami")
            assert page_b.locator("#cookie").inner_text() == "none"
            assert page_b.context is not page_a.context
            assert page_b.context.browser is browser
    assert shared.browser() is browser and shared.launches == launches
    assert shared.pid == os.getpid()


def test_failing_step_saves_screenshot_and_trace_and_reraises(
    shared: ProcessBrowser, site: str, store: Store, settings: Settings
) -> None:
    ctx = make_ctx(store, settings, shared, "fails")
    raised: list[BaseException] = []
    with pytest.raises(PlaywrightTimeoutError) as info:
        with ctx.browser(base_url=site, timeout_ms=300) as page:
            page.goto("/tall")
            try:
                page.click("#login-submit")  # no such element: the short default timeout runs out
            except PlaywrightTimeoutError as exc:
                raised.append(exc)
                raise
    assert info.value is raised[0]
    assert page.is_closed()

    arts = {a.kind: a for a in store.artifacts(ctx.item.id)}
    assert set(arts) == {SCREENSHOT_KIND, TRACE_KIND}
    shot, png = store.artifact_bytes(arts[SCREENSHOT_KIND].id)
    assert shot.media_type == "image/png" and shot.item_id == ctx.item.id
    assert png.startswith(PNG_MAGIC) and shot.size == len(png)
    image = Image.open(io.BytesIO(png))
    assert image.width == 1280 and image.height >= TALL_PX  # the full page, not the 900 px viewport
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "browser-failure.png").write_bytes(png)

    trace, data = store.artifact_bytes(arts[TRACE_KIND].id)
    assert trace.media_type == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "trace.trace" in names and "trace.network" in names
    assert b"login-submit" in zipfile.ZipFile(io.BytesIO(data)).read("trace.trace")


def test_bot_outcome_leaves_no_evidence(
    shared: ProcessBrowser, site: str, items: Store, settings: Settings
) -> None:
    ctx = make_ctx(items, settings, shared, "outcome")
    with pytest.raises(Reject):
        with ctx.browser(base_url=site) as page:
            page.goto("/")
            raise Reject("not_ark", "Kein ARK-Vertrag.")
    assert page.is_closed()
    assert items.artifacts(ctx.item.id) == []


def test_killed_browser_is_relaunched(
    own: ProcessBrowser, site: str, items: Store, settings: Settings
) -> None:
    ctx = make_ctx(items, settings, own, "crash")
    others = chromium_main_pids()  # the shared browser's
    with ctx.browser(base_url=site) as page:
        page.goto("/")
    first = own.browser()
    [victim] = chromium_main_pids() - others
    os.kill(victim, signal.SIGKILL)

    with ctx.browser(base_url=site) as page:
        page.goto("/")
        assert page.locator("#title").inner_text() == "Vertragsübersicht"
    assert own.launches == 2
    assert own.browser() is not first and not first.is_connected()
    assert victim not in chromium_main_pids()


def test_a_browser_ended_by_the_workers_stop_is_not_relaunched(
    own: ProcessBrowser, site: str, items: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_ctx(items, settings, own, "stopping")
    others = chromium_main_pids()
    with ctx.browser(base_url=site) as page:
        page.goto("/")
    [victim] = chromium_main_pids() - others
    monkeypatch.setattr(stopping, "_stopping", threading.Event())  # this process only, undone after the test
    stopping._stopping.set()  # as STOP_SIGNAL does, then the grace timer ends the children
    os.kill(victim, signal.SIGKILL)

    with pytest.raises((RuntimeError, PlaywrightError)), ctx.browser(base_url=site) as page:
        page.goto("/")
    assert own.launches == 1 and chromium_main_pids() - others == set()


def test_close_shutdown_and_worker_signal_end_the_browsers(
    own: ProcessBrowser, shared: ProcessBrowser, settings: Settings
) -> None:
    shutdown()  # no browser of another test module in this process: this test counts them all
    others = chromium_main_pids()
    own.browser()
    [pid] = chromium_main_pids() - others
    own.close()
    assert own.pid is None and not alive(pid)
    own.close()  # twice is fine

    shared.browser()
    default = process_browser(settings)
    try:
        default.browser()
        assert len(chromium_main_pids()) == 2
        shutdown()  # every browser of the process, the shared one too
        assert default.pid is None and shared.pid is None and chromium_main_pids() == set()
        shutdown()

        default.browser()
        [pid] = chromium_main_pids()
        signals.worker_process_shutdown.send(sender=None)  # what a Celery pool child sends as it exits
        assert default.pid is None and not alive(pid) and chromium_main_pids() == set()
    finally:
        default.close()
        browser_mod._default = None


def test_browser_started_before_fork_is_not_reused_in_the_child(
    own: ProcessBrowser, site: str, items: Store, settings: Settings
) -> None:
    ctx = make_ctx(items, settings, own, "fork")
    parent_browser = own.browser()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, reports through the pipe
        report: dict[str, object] = {}
        try:
            with own.session(ctx, base_url=site) as page:
                page.goto("/")
                report["text"] = page.locator("#vsnr").inner_text()
            report["fresh"] = own.browser() is not parent_browser
            report["launches"] = own.launches
            report["owner_is_child"] = own.pid == os.getpid()
            own.close()
            shutdown()
        except BaseException as exc:
            report["error"] = repr(exc)
        finally:
            os.write(write, json.dumps(report).encode())
            os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 60)
    if not ready:  # the child hangs, e.g. talking to the parent's driver
        os.kill(child, signal.SIGKILL)
    with os.fdopen(read, "rb") as fh:
        report = json.loads(fh.read() or b"{}")
    os.waitpid(child, 0)
    assert report == {"text": "ARK-1001", "fresh": True, "launches": 1, "owner_is_child": True}
    # The child's close did not touch the parent's browser.
    assert own.browser() is parent_browser and parent_browser.is_connected() and own.launches == 1
    with own.session(ctx, base_url=site) as page:
        page.goto("/")
        assert page.locator("#vsnr").inner_text() == "ARK-1001"


def test_a_hanging_page_leaves_a_screenshot_as_well_as_the_trace(
    shared: ProcessBrowser, site: str, items: Store, settings: Settings
) -> None:
    hang = socket.socket()  # accepts, never answers
    hang.bind(("127.0.0.1", 0))
    hang.listen(4)
    try:
        ctx = make_ctx(items, settings, shared, "hangs")
        with pytest.raises(PlaywrightTimeoutError):
            with ctx.browser(base_url=site) as page:
                page.goto("/")
                page.goto(f"http://127.0.0.1:{hang.getsockname()[1]}/slow", timeout=1500)
    finally:
        hang.close()
    kinds = sorted(a.kind for a in items.artifacts(ctx.item.id))
    assert kinds == [SCREENSHOT_KIND, TRACE_KIND]
    (shot,) = [a for a in items.artifacts(ctx.item.id) if a.kind == SCREENSHOT_KIND]
    assert items.artifact_bytes(shot.id)[1].startswith(PNG_MAGIC)


def test_by_default_a_trace_is_recorded_from_an_items_second_attempt(
    site: str, items: Store, settings: Settings
) -> None:
    browser = ProcessBrowser(settings, timeout_ms=300)  # the settings' default: trace on retries
    try:
        for attempt, kinds in ((1, [SCREENSHOT_KIND]), (2, [SCREENSHOT_KIND, TRACE_KIND])):
            ctx = make_ctx(items, settings, browser, f"retried-{attempt}")
            ctx.item = dataclasses.replace(ctx.item, attempts=attempt)
            with pytest.raises(PlaywrightTimeoutError), ctx.browser(base_url=site) as page:
                page.goto("/")
                page.click("#nothing-here")
            assert sorted(a.kind for a in items.artifacts(ctx.item.id)) == kinds
    finally:
        browser.close()


def test_images_fonts_and_stylesheets_are_not_loaded(
    shared: ProcessBrowser, site: str, items: Store, settings: Settings
) -> None:
    ctx = make_ctx(items, settings, shared, "blocked")
    loaded: list[str] = []
    blocked: list[str] = []
    with ctx.browser(base_url=site) as page:
        page.on("requestfinished", lambda request: loaded.append(request.url))
        page.on("requestfailed", lambda request: blocked.append(request.url))
        page.goto("/")
        page.set_content(
            f'<link rel="stylesheet" href="{site}/style.css"><img src="{site}/logo.png"><p>text</p>'
        )
        page.wait_for_load_state("load")
    assert sorted(url.rsplit("/", 1)[1] for url in blocked) == ["logo.png", "style.css"]
    assert not [url for url in loaded if url.endswith((".css", ".png"))]


def test_with_page_isolation_items_share_a_warm_context_but_nothing_an_item_left(
    site: str, items: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser_mod, "SHARED_CONTEXT_USES", 3)
    browser = ProcessBrowser(settings, trace="never", isolation="page")
    try:
        first = make_ctx(items, settings, browser, "page-1")
        with first.browser(base_url=site) as page:
            page.goto("/login/robot")  # what the server keeps for the robot user stays
            page.goto("/set-cookie/item-1")  # what the item itself leaves goes
            page.evaluate("localStorage.setItem('left', 'item-1'); sessionStorage.setItem('left', 'item-1')")
            warm = page.context
        second = make_ctx(items, settings, browser, "page-2")
        with second.browser(base_url=site) as page:
            assert page.context is warm and page.url == f"{site}/"  # an empty document at the root
            assert page.evaluate("document.body === null || document.body.innerHTML === ''")
            page.goto("/whoami")
            assert page.locator("#cookie").inner_text() == "login=robot"
            assert page.evaluate("[localStorage.getItem('left'), sessionStorage.getItem('left')]") == [
                None,
                None,
            ]
            with second.browser(base_url=site) as other:  # a second page of the same site at the same time
                assert other.context is not warm
            assert page.context is warm and not page.is_closed()
        third = make_ctx(items, settings, browser, "page-3")
        with third.browser(base_url=site) as page:
            assert page.context is warm  # its third use: the next item gets a fresh context
        fourth = make_ctx(items, settings, browser, "page-4")
        with pytest.raises(RuntimeError), fourth.browser(base_url=site) as page:
            assert page.context is not warm
            warm = page.context
            page.goto("/")
            raise RuntimeError("the step broke off half way")
        assert [a.kind for a in items.artifacts(fourth.item.id)] == [SCREENSHOT_KIND]  # untraced: no trace
        fifth = make_ctx(items, settings, browser, "page-5")
        with fifth.browser(base_url=site) as page:
            assert page.context is not warm  # the failed item's page is not handed on
    finally:
        browser.close()


def test_with_context_isolation_every_item_gets_a_fresh_context(
    site: str, items: Store, settings: Settings
) -> None:
    browser = ProcessBrowser(settings, trace="never", isolation="context")
    try:
        contexts = []
        for ref in ("context-1", "context-2"):
            with make_ctx(items, settings, browser, ref).browser(base_url=site) as page:
                page.goto("/login/robot")
                contexts.append(page.context)
            assert page.is_closed()
        assert contexts[0] is not contexts[1]
    finally:
        browser.close()


SHOWS_IBAN = (
    "<!doctype html><body style='font: 20px monospace'><p id=iban>IBAN {}</p>"
    "<p>Kontoinhaber Erika Mustermann</p><input id=typed value='{}' style='caret-color: transparent'></body>"
)


def test_a_failure_screenshot_shows_no_iban_and_a_trace_can_be_refused(
    shared: ProcessBrowser, items: Store, settings: Settings
) -> None:
    """The screenshot kept with a failed item is pixel for pixel the page with its IBANs masked."""
    ctx = make_ctx(items, settings, shared, "iban-on-page")
    with pytest.raises(RuntimeError), ctx.browser(trace=False) as page:  # shared is set to trace always
        page.set_content(SHOWS_IBAN.format("DE89 3704 0044 0532 0130 00", "de89370400440532013000"))
        raise RuntimeError("the step failed while the page showed an IBAN")
    (shot,) = items.artifacts(ctx.item.id)  # a screenshot, no trace
    assert shot.kind == SCREENSHOT_KIND
    kept = items.artifact_bytes(shot.id)[1]

    masked = mask_iban("DE89370400440532013000")
    assert masked == "DE89 **** **** **** **30 00"
    reference = shared.browser().new_context(viewport=VIEWPORT, locale="de-DE")
    try:
        page = reference.new_page()
        page.set_content(SHOWS_IBAN.format(masked, masked))
        assert page.screenshot(full_page=True, type="png") == kept
        page.set_content(SHOWS_IBAN.format("DE89 3704 0044 0532 0130 00", "de89370400440532013000"))
        assert page.screenshot(full_page=True, type="png") != kept  # the comparison can tell them apart
    finally:
        reference.close()
