"""A headless Chromium per worker process (per thread in a threads pool), a fresh page per item, evidence of failure."""

from __future__ import annotations

import atexit
import logging
import os
import re
import tempfile
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Playwright, Route, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bots.runtime.errors import Outcome
from bots.runtime.settings import Isolation, Settings, TraceMode, get_settings
from bots.runtime.stopping import stopping

if TYPE_CHECKING:
    from bots.runtime.context import Context

log = logging.getLogger(__name__)

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # a robot needs none of these: each costs CPU per page or per launch
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--metrics-recording-only",
    "--password-store=basic",
)
SCREENSHOT_TIMEOUT_MS = 10_000.0
MASK_TIMEOUT_MS = 5_000
VIEWPORT = {"width": 1280, "height": 900}

# what a robot never needs: images, fonts, stylesheets (the page objects read ids and data-fields)
BLOCKED_RESOURCES = re.compile(r"\.(png|jpe?g|gif|webp|svg|ico|woff2?|ttf|otf|css)(\?.*)?$", re.IGNORECASE)

SHARED_CONTEXT_USES = 200  # then a fresh one: a long-lived renderer grows
# an empty document in place of the item's, at the site's root address: no navigation, the renderer stays
_BLANK = """() => {
  document.open(); document.close();
  if (location.protocol.startsWith('http')) history.replaceState(null, '', '/');
}"""
CLEARED_STORAGE = "local_storage,session_storage,indexeddb,cache_storage,service_workers,websql,file_systems"

# Before a failure screenshot: every IBAN the page shows (text, form fields) masked as privacy.mask_iban does,
# so the evidence kept with an item holds no account number. Same pattern as privacy.IBAN_RE.
MASK_IBANS = r"""() => {
  const iban = /\b[A-Z]{2}\d{2}(?:(?:[ \t]{1,3})?[A-Z0-9]){11,30}\b/g;
  const mask = (found) => {
    const compact = found.replace(/[ \t]/g, '');
    const masked = compact.slice(0, 4) + '*'.repeat(Math.max(compact.length - 8, 0)) + compact.slice(-4);
    return masked.match(/.{1,4}/g).join(' ');
  };
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (iban.test(node.nodeValue)) node.nodeValue = node.nodeValue.replace(iban, mask);
    iban.lastIndex = 0;
  }
  for (const field of document.querySelectorAll('input, textarea')) {
    const typed = field.value.toUpperCase();
    if (iban.test(typed)) field.value = typed.replace(iban, mask);
    iban.lastIndex = 0;
  }
}"""

SCREENSHOT_KIND = "screenshot"
TRACE_KIND = "trace"

# Playwright objects inherited through fork belong to the parent's driver: never touched in the child, and
# kept referenced so that collecting them cannot close pipes or transports in the child either.
_inherited: list[object] = []


class _Driver(threading.local):
    """The Playwright driver of the calling thread. Playwright's sync API is bound to the thread that started it,
    so each thread that drives a browser (a worker with the threads pool runs several items at once) has its
    own driver, its own browser and its own warm pages; the browsers of one thread share its driver."""

    def __init__(self) -> None:
        self.playwright: Playwright | None = None
        self.pid: int | None = None
        self.holders: weakref.WeakSet[ProcessBrowser] = weakref.WeakSet()  # those with a running browser
        self.default: ProcessBrowser | None = None  # process_browser()'s, for this thread

    def get(self) -> Playwright:
        self.forget_if_inherited()
        if self.playwright is None:
            _register_exit_hook()
            self.playwright = sync_playwright().start()
            self.pid = os.getpid()
        return self.playwright

    def stop(self) -> None:
        self.forget_if_inherited()
        playwright, self.playwright = self.playwright, None
        if playwright is not None:
            try:
                playwright.stop()
            except Exception:
                log.warning("stopping Playwright failed", exc_info=True)
        self.pid = None

    def forget_if_inherited(self) -> None:
        if self.pid is not None and self.pid != os.getpid():
            _inherited.append(self.playwright)
            self.playwright = None
            self.pid = None
            self.holders = weakref.WeakSet()


_driver = _Driver()
_exit_hook = threading.Lock()
_exit_hook_registered = False


def _register_exit_hook() -> None:
    global _exit_hook_registered
    with _exit_hook:
        if not _exit_hook_registered:
            atexit.register(shutdown)
            _exit_hook_registered = True


class ProcessBrowser:
    """A Chromium of this process: launched on first use, relaunched after a crash, dropped after fork.

    Playwright's sync API is bound to the thread that started it, so all use must come from that thread; the
    worker's threads each get their own from `process_browser()`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_ms: float | None = None,
        navigation_timeout_ms: float | None = None,
        trace: bool | TraceMode | None = None,
        block_resources: bool | None = None,
        isolation: Isolation | None = None,
    ) -> None:
        self.settings = settings
        self.timeout_ms = float(timeout_ms if timeout_ms is not None else settings.browser_timeout_ms)
        self.navigation_timeout_ms = float(
            navigation_timeout_ms
            if navigation_timeout_ms is not None
            else settings.browser_navigation_timeout_ms
        )
        chosen = settings.browser_trace if trace is None else trace
        self.trace: TraceMode = ("always" if chosen else "never") if isinstance(chosen, bool) else chosen
        self.block_resources = (
            settings.browser_block_resources if block_resources is None else block_resources
        )
        self.isolation: Isolation = isolation or settings.browser_isolation
        self.launches = 0  # how many Chromiums this object started in this process
        self._pid: int | None = None
        self._thread: int | None = None  # the thread that launched the running browser
        self._browser: Browser | None = None
        self._shared: dict[str, _Warm] = {}  # base url -> the warm page of isolation "page"
        self._busy: set[str] = set()  # base urls whose shared page an item has open right now

    @property
    def pid(self) -> int | None:
        """The process that owns the running browser, if any."""
        return self._pid if self._browser is not None else None

    def browser(self) -> Browser:
        """The running browser; started now if there is none, it died, or it was inherited through fork."""
        self._drop_if_inherited()
        if self._browser is not None:
            self._check_thread()
            if self._browser.is_connected():
                return self._browser
            if stopping():
                raise RuntimeError("the worker is stopping: no new browser")
            log.warning("browser disconnected; relaunching")
            self._close_browser()
        return self._launch()

    @contextmanager
    def session(
        self,
        ctx: Context,
        *,
        base_url: str | None = None,
        timeout_ms: float | None = None,
        trace: bool = True,
        **context_options: Any,
    ) -> Iterator[Page]:
        """A fresh page for `ctx.item`, closed or tidied afterwards (see `isolation` in the settings).

        With isolation "page" the page lives in a context this process keeps warm per `base_url` and is tidied
        after the item; an item that is traced, asks for context options other than a stored login, or opens a
        second page of the same site while the first is open gets a fresh context of its own instead.
        When an error escapes the block (not a bot's `Outcome`), a full-page screenshot with every IBAN masked
        (and the Playwright trace when traced) are saved as artifacts of the item first; the error propagates
        unchanged. `trace=False`: never a trace (its DOM snapshots keep what the pages showed, unmasked).
        """
        key = base_url or ""
        traced = trace and (self.trace == "always" or (self.trace == "retries" and ctx.item.attempts > 1))
        # a shared context takes the options it is made with (a stored login) once; others get their own
        shared = (
            self.isolation == "page"
            and not traced
            and set(context_options) <= {"storage_state"}
            and key not in self._busy
        )
        if shared:
            context, page = self._shared_page(base_url, timeout_ms, context_options)
            self._busy.add(key)
        else:
            context = self._new_context(base_url, timeout_ms, context_options, traced)
            page = None
        try:
            page = page or context.new_page()
            yield page
        except Exception as exc:
            if not isinstance(exc, Outcome) and not stopping():  # a worker on its way out cut the step
                self._save_evidence(context, page, ctx, traced)
            if shared:  # a page left in an unknown state is not handed to the next item
                self._drop_shared(base_url)
            raise
        finally:
            if not shared:
                self._close_context(context)
            else:
                self._busy.discard(key)
                if key in self._shared:
                    self._tidy(base_url)

    def close(self) -> None:
        """Close this browser, and the driver when no other browser uses it; a no-op after fork or when idle."""
        self._drop_if_inherited()
        self._close_browser()
        self._pid = None
        if not _driver.holders:
            _driver.stop()

    # ------------------------------------------------------------------ internals

    def _launch(self) -> Browser:
        try:
            browser = self._launch_chromium(_driver.get())
        except PlaywrightError:
            if stopping():  # the worker's stop ended the browser being launched: no second one outlives it
                raise
            # The driver itself may have gone with the browser: start it afresh, once.
            log.warning("launching Chromium failed; restarting Playwright", exc_info=True)
            _driver.stop()
            browser = self._launch_chromium(_driver.get())
        self._browser, self._pid, self._thread = browser, os.getpid(), threading.get_ident()
        _driver.holders.add(self)
        self.launches += 1
        return browser

    def _launch_chromium(self, playwright: Playwright) -> Browser:
        # The system's Chromium (Debian's package) when present; else Playwright's own download
        # (`playwright install chromium`), for machines without apt.
        path = self.settings.chromium_path
        return playwright.chromium.launch(
            executable_path=path if path and Path(path).exists() else None,
            headless=self.settings.browser_headless,
            args=list(CHROMIUM_ARGS),
        )

    def _new_context(
        self, base_url: str | None, timeout_ms: float | None, options: dict[str, Any], traced: bool = False
    ) -> BrowserContext:
        options = {
            "locale": "de-DE",
            "timezone_id": self.settings.timezone,
            "viewport": VIEWPORT,
            **({"base_url": base_url} if base_url else {}),
            **options,
        }
        try:
            context = self.browser().new_context(**options)
        except PlaywrightError as exc:
            if stopping():  # ended by the worker's stop, not by chance: start nothing new
                raise
            # A browser killed since its last use still looks connected until the driver reports it.
            log.warning("new browser context failed (%s); relaunching the browser", str(exc).splitlines()[0])
            self._close_browser()
            context = self.browser().new_context(**options)
        context.set_default_timeout(self.timeout_ms if timeout_ms is None else timeout_ms)
        context.set_default_navigation_timeout(self.navigation_timeout_ms)
        if self.block_resources:
            context.route(BLOCKED_RESOURCES, _abort)  # matched in the driver: only these reach Python
        if traced:
            context.tracing.start(screenshots=True, snapshots=True)
        return context

    def _save_evidence(self, context: BrowserContext, page: Page | None, ctx: Context, traced: bool) -> None:
        stem = f"item-{ctx.item.id}-attempt-{ctx.item.attempts}"
        # The page the block got, or the newest still open one (a popup it followed).
        open_pages = [p for p in context.pages if not p.is_closed()]
        target = page if page is not None and not page.is_closed() else next(reversed(open_pages), None)
        if target is not None:
            png = self._screenshot(context, target)
            if png is None:
                log.warning("item %s: no failure screenshot", ctx.item.id)
            else:
                ctx.save_artifact(png, "image/png", f"{stem}-failure.png", SCREENSHOT_KIND)
        if traced:
            try:
                with tempfile.TemporaryDirectory(prefix="portalbots-trace-") as tmp:
                    path = Path(tmp) / "trace.zip"
                    context.tracing.stop(path=path)
                    ctx.save_artifact(path.read_bytes(), "application/zip", f"{stem}-trace.zip", TRACE_KIND)
            except Exception:
                log.warning("item %s: no trace", ctx.item.id, exc_info=True)

    @staticmethod
    def _screenshot(context: BrowserContext, page: Page) -> bytes | None:
        """The whole page as it stands, its IBANs masked; a navigation still under way (a hanging page) is
        stopped first, else the screenshot would wait for it."""
        try:
            session = context.new_cdp_session(page)
        except Exception:
            log.warning("no DevTools session for the failed page; no screenshot", exc_info=True)
            return None
        try:
            try:
                session.send("Page.stopLoading")
            except Exception:
                log.info("could not stop the page's loading before the screenshot", exc_info=True)
            masked = session.send(
                "Runtime.evaluate",
                {"expression": f"({MASK_IBANS})()", "timeout": MASK_TIMEOUT_MS, "awaitPromise": False},
            )
            if masked.get("exceptionDetails"):
                raise RuntimeError(str(masked["exceptionDetails"].get("text")))
        except Exception:  # no screenshot rather than one with account numbers
            log.warning("could not mask the page's IBANs; no screenshot", exc_info=True)
            return None
        finally:
            try:
                session.detach()
            except Exception:
                pass
        try:
            return page.screenshot(full_page=True, type="png", timeout=SCREENSHOT_TIMEOUT_MS)
        except Exception:
            log.warning("no screenshot of the failed page", exc_info=True)
            return None

    def _shared_page(
        self, base_url: str | None, timeout_ms: float | None, options: dict[str, Any]
    ) -> tuple[BrowserContext, Page]:
        """The process's page for `base_url`: one context whose renderer stays warm from item to item (a new
        context costs a renderer process, ~0.3 CPU-seconds), tidied after every item (see _tidy)."""
        key = base_url or ""
        warm = self._shared.get(key)
        if warm is not None and warm.usable():
            warm.uses += 1
            warm.context.set_default_timeout(self.timeout_ms if timeout_ms is None else timeout_ms)
            return warm.context, warm.page
        self._drop_shared(base_url)
        context = self._new_context(base_url, timeout_ms, options, traced=False)
        page = context.new_page()
        self._shared[key] = _Warm(context, page, context.new_cdp_session(page))
        return context, page

    def _tidy(self, base_url: str | None) -> None:
        """After an item: its document, its storage and every cookie a page's script set are gone; what stays is
        what the server set httpOnly (the robot's login session) — the next item sees nothing of this one.
        The page stays on its origin (a navigation to about:blank would start another renderer process)."""
        warm = self._shared[base_url or ""]
        page, context = warm.page, warm.context
        try:
            origins = {_origin(url) for url in (page.url, base_url) if url and url.startswith("http")}
            page.evaluate(_BLANK)
            for origin in origins:
                warm.cdp.send(
                    "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": CLEARED_STORAGE}
                )
            for cookie in context.cookies():
                if not cookie.get("httpOnly"):  # a script's, or readable by one
                    context.clear_cookies(name=cookie["name"], domain=cookie["domain"], path=cookie["path"])
        except Exception:
            log.warning("tidying the shared page failed; the next item gets a fresh one", exc_info=True)
            self._drop_shared(base_url)

    def _drop_shared(self, base_url: str | None) -> None:
        warm = self._shared.pop(base_url or "", None)
        if warm is not None:
            self._close_context(warm.context)

    def _close_context(self, context: BrowserContext) -> None:
        try:
            context.close()
        except Exception:
            log.warning("closing a browser context failed", exc_info=True)

    def _close_browser(self) -> None:
        self._shared.clear()  # its contexts end with the browser
        browser, self._browser = self._browser, None
        _driver.holders.discard(self)
        if browser is not None:
            self._check_thread()
            try:
                browser.close()
            except Exception:
                log.warning("closing the browser failed", exc_info=True)

    def _check_thread(self) -> None:
        if self._thread is not None and self._thread != threading.get_ident():
            raise RuntimeError("a browser is used from a thread other than the one that launched it")

    def _drop_if_inherited(self) -> None:
        if self._pid is not None and self._pid != os.getpid():
            _inherited.append(self._browser)
            self._browser = self._pid = None
            self.launches = 0


def process_browser(settings: Settings | None = None) -> ProcessBrowser:
    """The calling thread's browser in this process, created on first call (`settings` only count then)."""
    if _driver.default is None:
        _driver.default = ProcessBrowser(settings or get_settings())
    return _driver.default


@dataclass
class _Warm:
    """A page kept for the next item of the same site, with its DevTools session for the tidying."""

    context: BrowserContext
    page: Page
    cdp: CDPSession
    uses: int = 1

    def usable(self) -> bool:
        browser = self.context.browser
        connected = browser is not None and browser.is_connected()
        return connected and self.uses < SHARED_CONTEXT_USES and not self.page.is_closed()


def _origin(url: str) -> str:
    """The origin of a page's URL, as CDP's storage calls take it."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _abort(route: Route) -> None:
    route.abort()


def shutdown() -> None:
    """Close the calling thread's browsers and its driver; safe twice, in a forked child, or when idle.

    Registered with atexit when a driver first starts, and called on Celery's worker_process_shutdown. A
    driver of another thread (the threads pool) ends with the process: its Chromium goes with it.
    """
    _driver.forget_if_inherited()
    try:
        for owner in [*_driver.holders, *([_driver.default] if _driver.default else [])]:
            owner.close()
        _driver.stop()
    except Exception:
        log.exception("closing the process browser failed")


@contextmanager
def session(ctx: Context, **options: Any) -> Iterator[Page]:
    """`ProcessBrowser.session` on the browser in `ctx.resources["browser"]`, else this process's browser."""
    resource = ctx.resources.get("browser")
    owner = resource if isinstance(resource, ProcessBrowser) else process_browser(ctx.settings)
    with owner.session(ctx, **options) as page:
        yield page
