"""Work off the GUI thread: a QRunnable whose signals live on a separate QObject (as superqt's workers do).

`Tasks.run(fn, *args, returned=…, errored=…)` runs `fn` in the pool and delivers its result or exception to
the GUI thread through queued signals. A `Channel` keeps only the latest of a kind of request: the answer
of a refresh that a newer one overtook is dropped, so a slow old page never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class TaskSignals(QObject):
    started = Signal()
    returned = Signal(object)
    errored = Signal(object)  # the exception
    finished = Signal()


class Task(QRunnable):
    """Calls `fn(*args, **kw)` in a pool thread; reports through `self.signals`."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        super().__init__()
        self.signals = TaskSignals()
        self._call = (fn, args, kw)
        self.setAutoDelete(True)

    def run(self) -> None:
        fn, args, kw = self._call
        self.signals.started.emit()
        try:
            result = fn(*args, **kw)
        except Exception as exc:  # every failure goes back to the GUI thread, none is lost in the pool
            self.signals.errored.emit(exc)
        else:
            self.signals.returned.emit(result)
        finally:
            self.signals.finished.emit()


class Tasks(QObject):
    """The console's pool of network work; `running` counts tasks in flight (tests wait for 0)."""

    idle = Signal()

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._signals: set[TaskSignals] = set()  # alive until delivered

    @property
    def running(self) -> int:
        return len(self._signals)

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        returned: Callable[[Any], None] | None = None,
        errored: Callable[[Exception], None] | None = None,
        owner: QObject | None = None,
        **kw: Any,
    ) -> TaskSignals:
        """Run `fn(*args, **kw)` in the pool; `returned`/`errored` run in the GUI thread, and not at all once
        `owner` (the widget that asked) is gone."""
        task = Task(fn, *args, **kw)
        signals = task.signals
        # the signals object lives in the GUI thread: the slots run there (queued connections)
        if returned is not None:
            signals.returned.connect(_unless_gone(owner, returned))
        if errored is not None:
            signals.errored.connect(_unless_gone(owner, errored))
        signals.finished.connect(lambda: self._done(signals))
        self._signals.add(signals)
        self.pool.start(task)
        return signals

    def _done(self, signals: TaskSignals) -> None:
        self._signals.discard(signals)
        if not self._signals:
            self.idle.emit()

    def wait(self, msecs: int = 10_000) -> bool:
        return self.pool.waitForDone(msecs)


def _unless_gone(owner: QObject | None, slot: Callable[[Any], None]) -> Callable[[Any], None]:
    if owner is None:
        return slot

    def call(value: Any) -> None:
        if shiboken6.isValid(owner):
            slot(value)

    return call


class Channel:
    """Requests of one kind where only the newest answer counts (a view's refresh).

    At most one is in flight: a request made meanwhile waits, and a later one replaces it. So a slow or
    hanging API never piles up requests in the pool, and the answer of a request that a newer one overtook
    is dropped (a slow old page never overwrites a newer one)."""

    def __init__(self, tasks: Tasks, owner: QObject | None = None) -> None:
        self.tasks = tasks
        self.owner = owner
        self.busy = False
        self._waiting: tuple[Any, ...] | None = None

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        returned: Callable[[Any], None],
        errored: Callable[[Exception], None],
        **kw: Any,
    ) -> None:
        if self.busy:
            self._waiting = (fn, args, kw, returned, errored)
            return
        self._start(fn, args, kw, returned, errored)

    def _start(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kw: dict[str, Any],
        returned: Callable[[Any], None],
        errored: Callable[[Exception], None],
    ) -> None:
        self.busy = True

        def finished(deliver: Callable[[], None]) -> None:
            self.busy = False
            waiting, self._waiting = self._waiting, None
            if waiting is not None:
                self._start(*waiting)  # a newer request came meanwhile: this answer is out of date
            else:
                deliver()

        self.tasks.run(
            fn,
            *args,
            returned=lambda result: finished(lambda: returned(result)),
            errored=lambda exc: finished(lambda: errored(exc)),
            owner=self.owner,
            **kw,
        )
