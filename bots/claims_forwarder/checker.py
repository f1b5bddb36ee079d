"""The isolated checker: a child process that parses customer files for the claims forwarder, with limits.

pypdf and Pillow have had infinite loops and decompression bombs in most recent releases; a file that
triggers the next one must cost the worker nothing. So the worker never parses a customer's file itself: a
child process (`python -m bots.claims_forwarder.checker`) does, with its address space capped (RLIMIT_AS), a
CPU budget per task (RLIMIT_CPU) and a wall timeout the parent enforces by killing it. A timeout, crash or
exhausted memory means the file "could not be checked": the bot refuses it like any other bad file.

The child lives as long as its parent's Checker (one per bot, reused across files and items) and is started
again after it was killed. Parent and child speak length-prefixed JSON with raw byte blobs beside it, never
pickle: a child taken over by a hostile file cannot make the parent run anything.
"""

from __future__ import annotations

import json
import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

_HEAD = struct.Struct(">I")
_BLOB = struct.Struct(">Q")
START_SECONDS = 60.0  # for the child's imports, not counted against any file


class CheckerFailed(Exception):
    """The child timed out, ran out of memory or died: what it was given could not be checked."""


@dataclass(frozen=True)
class CheckerLimits:
    seconds: float = 10.0  # wall time per file
    memory_mb: int = 1024  # address space of the child


def _write(stream: IO[bytes], header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
    head = json.dumps({**header, "blobs": len(blobs)}).encode()
    stream.write(_HEAD.pack(len(head)) + head)
    for blob in blobs:
        stream.write(_BLOB.pack(len(blob)))
        stream.write(blob)
    stream.flush()


class Checker:
    """The parent's handle on the child; thread-safe (one task at a time)."""

    def __init__(self, limits: CheckerLimits | None = None) -> None:
        self.limits = limits or CheckerLimits()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.started = 0  # how many children were started (tests and the benchmark read it)

    def call(
        self, task: str, args: dict[str, Any], blobs: Sequence[bytes] = (), seconds: float | None = None
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Run `task` in the child; its answer. CheckerFailed when it takes longer than `seconds` (the
        per-file limit by default) or dies; the child is killed and the next call starts a new one."""
        limit = self.limits.seconds if seconds is None else seconds
        with self._lock:
            proc = self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                _write(proc.stdin, {"task": task, "args": args, "cpu": limit}, blobs)
                header, out = self._read(proc, time.monotonic() + limit)
            except (OSError, ValueError, CheckerFailed) as exc:
                self._kill()
                raise CheckerFailed(str(exc) or type(exc).__name__) from None
            if header.get("exit"):  # the child answered but cannot go on (it ran out of memory)
                self._kill()
            return header, out

    def close(self) -> None:
        with self._lock:
            self._kill()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._kill()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bots.claims_forwarder.checker", str(self.limits.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self._proc = proc
        self.started += 1
        try:
            header, _ = self._read(proc, time.monotonic() + START_SECONDS)
        except CheckerFailed:
            self._kill()
            raise
        if header.get("ready") is not True:
            self._kill()
            raise CheckerFailed("the checker process did not start")
        return proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    @staticmethod
    def _read(proc: subprocess.Popen[bytes], deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        buffer = bytearray()

        def take(n: int) -> bytes:
            while len(buffer) < n:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise CheckerFailed("the checker took too long")
                chunk = os.read(fd, max(n - len(buffer), 1 << 16))
                if not chunk:
                    raise CheckerFailed("the checker process ended")
                buffer.extend(chunk)
            data = bytes(buffer[:n])
            del buffer[:n]
            return data

        try:
            (size,) = _HEAD.unpack(take(_HEAD.size))
            header = json.loads(take(size))
            blobs = []
            for _ in range(int(header.get("blobs", 0))):
                (length,) = _BLOB.unpack(take(_BLOB.size))
                blobs.append(take(length))
        finally:
            selector.close()
        if not isinstance(header, dict):
            raise CheckerFailed("the checker answered nonsense")
        return header, blobs


# -- the child ----------------------------------------------------------------------------------


def _read_exactly(stream: IO[bytes], n: int) -> bytes | None:
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def _child(memory_mb: int) -> int:
    import resource
    import warnings

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the answers
    inp = os.fdopen(0, "rb")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.resetwarnings()
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.CRITICAL)  # pypdf logs every oddity of a broken file

    from PIL import Image

    warnings.simplefilter("error", Image.DecompressionBombWarning)
    from bots.claims_forwarder import inspection

    _write(out, {"ready": True})
    while True:
        raw = _read_exactly(inp, _HEAD.size)
        if raw is None:
            return 0  # the parent went away
        body = _read_exactly(inp, _HEAD.unpack(raw)[0])
        if body is None:
            return 0
        request = json.loads(body)
        blobs = []
        for _ in range(int(request["blobs"])):
            size = _read_exactly(inp, _BLOB.size)
            blob = _read_exactly(inp, _BLOB.unpack(size)[0]) if size else None
            if blob is None:
                return 0
            blobs.append(blob)
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = used.ru_utime + used.ru_stime
        # the CPU budget of this task on top of what the child used so far; past it the kernel ends the child
        resource.setrlimit(
            resource.RLIMIT_CPU, (int(cpu + float(request["cpu"])) + 1, resource.RLIM_INFINITY)
        )
        answer: dict[str, Any]
        result: list[bytes] = []
        try:
            answer, result = _run(inspection, request["task"], request["args"], blobs)
        except MemoryError:
            answer = {"ok": False, "reason": "unchecked", "detail": "memory", "exit": True}
        except RecursionError:
            answer = {"ok": False, "reason": "damaged", "detail": "nesting"}
        except Exception as exc:
            answer = {"ok": False, "reason": "error", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        _write(out, answer, result)
        if answer.get("exit"):
            return 0


def _run(
    inspection: Any, task: str, args: dict[str, Any], blobs: list[bytes]
) -> tuple[dict[str, Any], list[bytes]]:
    if task == "check":
        limits = inspection.Limits(
            tuple(args["allowed"]), int(args["max_pdf_pages"]), int(args["max_image_pixels"])
        )
        try:
            return {"ok": True, **inspection.check(blobs[0], limits)}, []
        except inspection.Refused as refused:
            return {"ok": False, "reason": refused.reason, "detail": refused.detail}, []
    if task == "bundle":
        parts = list(zip(args["kinds"], blobs[1:], args["labels"], strict=True))
        return {"ok": True}, [inspection.bundle(blobs[0], parts, str(args["title"]))]
    if task == "sleep":  # for the tests: a task that hangs
        time.sleep(float(args["seconds"]))
        return {"ok": True}, []
    if task == "allocate":  # for the tests: a task that wants too much memory
        hog = bytearray(int(args["mb"]) * 1024 * 1024)
        return {"ok": True, "size": len(hog)}, []
    raise ValueError(f"unknown task {task!r}")


if __name__ == "__main__":
    sys.exit(_child(int(sys.argv[1]) if len(sys.argv) > 1 else 1024))
