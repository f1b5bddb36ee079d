"""Screenshots of every console view over a store, rendered offscreen at 1440×900 — e.g. the demo's:

    .venv/bin/portalbots demo
    .venv/bin/python scripts/console_screenshots.py                  # var/demo → test-output/console-demo/

It serves the console's local operator API over the store (as `portalbots console` does), standing at the
time of the store's last change (`--at` to choose), signs in as a supervisor and as a clerk of Kranken
made for the purpose (`screenshots`, `screenshots-kranken`; new random passwords on every run), selects a
row in every view that has a detail pane, and saves one PNG per view, plus the clerk's inbox and the
English queue overview.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bots.cli_console import local_api  # noqa: E402
from bots.runtime.errors import OperatorExists  # noqa: E402
from bots.runtime.migrate import upgrade  # noqa: E402
from bots.runtime.models import Role  # noqa: E402
from bots.runtime.operators import add_operator, change_password  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402
from bots.runtime.store import Store  # noqa: E402
from console.client import ApiClient  # noqa: E402
from console.hub import Hub  # noqa: E402
from console.i18n import set_language  # noqa: E402
from console.session import Session  # noqa: E402
from console.tasks import Tasks  # noqa: E402
from console.views.main_window import MainWindow  # noqa: E402

VIEWS = ("queues", "items", "exceptions", "inbox", "backlog", "alerts")
OPERATORS = {"screenshots": (Role.SUPERVISOR, ()), "screenshots-kranken": (Role.CLERK, ("Kranken",))}


def wait_until(done: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the console did not settle")
        QCoreApplication.processEvents()
        time.sleep(0.01)


def prepare(settings: Settings) -> tuple[dict[str, str], datetime]:
    """The two operators with fresh passwords, and when the store's last change was (the demo moves its
    clock to a later week: the console stands then, so "today" and "overdue" mean what they meant there)."""
    url = settings.resolved_database_url()
    upgrade(url)
    store = Store(url)
    passwords = {}
    try:
        latest = max((i.updated_at for i in store.list_items(limit=500)), default=datetime.now(UTC))
        for name, (role, units) in OPERATORS.items():
            password = secrets.token_urlsafe(16)
            try:
                add_operator(store, settings, name, role, units, password, actor="screenshots")
            except OperatorExists:
                change_password(store, settings, name, password, actor="screenshots")
            passwords[name] = password
    finally:
        store.dispose()
    return passwords, latest


def window_of(url: str, name: str, password: str, ini: Path) -> MainWindow:
    client = ApiClient(url)
    operator = client.login(name, password)
    window = MainWindow(
        Session(client, Tasks(), Hub(), dict(operator)), QSettings(str(ini), QSettings.Format.IniFormat)
    )
    window.resize(1440, 900)
    window.show()
    window.start()
    return window


def shoot(window: MainWindow, key: str, path: Path) -> None:
    view = window.tab_to(key)
    window.refresh()
    wait_until(lambda: window.session.tasks.running == 0)
    table = getattr(view, "table", None)
    if table is not None and table.model() is not None and table.model().rowCount() and key != "queues":
        table.selectRow(0)
        wait_until(lambda: window.session.tasks.running == 0)
    QCoreApplication.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(path)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "demo", help="the store's data dir")
    parser.add_argument("--out", type=Path, default=ROOT / "test-output" / "console-demo")
    parser.add_argument(
        "--at", help="the time the API stands at (ISO 8601); default: the store's last change"
    )
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir.resolve(), database_url=None)  # type: ignore[call-arg]
    passwords, latest = prepare(settings)
    at = datetime.fromisoformat(args.at).astimezone(UTC) if args.at else latest + timedelta(minutes=1)
    settings = settings.model_copy(update={"clock_shift": (at - datetime.now(UTC)).total_seconds()})
    app = QApplication.instance() or QApplication([])
    with local_api(settings) as url, tempfile.TemporaryDirectory() as tmp:
        set_language("de")
        chef = window_of(url, "screenshots", passwords["screenshots"], Path(tmp) / "chef.ini")
        for n, key in enumerate(VIEWS, 1):
            shoot(chef, key, args.out / f"{n:02d}-{key}.png")
        clerk = window_of(
            url, "screenshots-kranken", passwords["screenshots-kranken"], Path(tmp) / "clerk.ini"
        )
        shoot(clerk, "inbox", args.out / "07-inbox-clerk-kranken.png")
        for window in (chef, clerk):
            window.close()
            wait_until(lambda w=window: w.session.tasks.running == 0)
        set_language("en")
        english = window_of(url, "screenshots", passwords["screenshots"], Path(tmp) / "en.ini")
        shoot(english, "queues", args.out / "08-queues-english.png")
        english.close()
        wait_until(lambda: english.session.tasks.running == 0)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
