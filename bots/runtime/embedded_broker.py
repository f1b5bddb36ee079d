"""The embedded broker: kombu's filesystem transport (one file per message in a folder), made to scale.

Kombu's own channel lists and sorts the whole folder for every message it takes (28 ms at 10,000 files, so a
drained backlog costs O(n²)) and moves a taken file through the system's temp folder. This one lists the
folder once, takes the oldest files of that listing one by one and lists again only when they are used up;
a file is taken by an atomic rename into the processed folder, so two consumers of one folder never both
get a message. A message is written beside the folder and renamed into it, so it appears whole. Names begin
with the send time in nanoseconds (kombu's: milliseconds, then a random uuid), so messages come oldest first;
those that arrive while a listing is being used up are newer than its own anyway.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from typing import Any

from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

TRANSPORT = f"{__name__}:Transport"


class Channel(filesystem.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._waiting: dict[str, deque[str]] = {}  # queue -> files of the last listing not taken yet

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # kombu names a file by milliseconds and a random uuid: messages of one millisecond in random order
        name = f"{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.processed_folder, f"put-{name}")
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))  # type: ignore[no-untyped-call]
        os.rename(partial, path)  # appears whole: a consumer never reads a half-written message

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        waiting = self._waiting.get(queue)
        if not waiting:
            suffix = f"{queue}.msg"
            names = (n for n in os.listdir(self.data_folder_in) if n.partition(".")[2] == suffix)
            waiting = self._waiting[queue] = deque(sorted(names))
        while waiting:
            name = waiting.popleft()
            taken = os.path.join(self.processed_folder, f"{os.getpid()}-{name}")
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except FileNotFoundError:  # another consumer took it first
                continue
            with open(taken, "rb") as f:
                payload = f.read()
            os.remove(taken)
            return loads(bytes_to_str(payload))  # type: ignore[no-untyped-call]
        raise virtual.Empty()


class Transport(filesystem.Transport):
    Channel = Channel
