"""The one place that owns the queries: work items, events, cases, artifacts, queue states, backlog, outbox.

One module per concept. Each holds the part of `Store` that opens transactions for its concept, and the
functions that work inside a transaction given to them, which the other parts call (a hand-off changes
the item and opens a case in one transaction). `rows` maps rows to the value objects of models.py.
"""

from __future__ import annotations

from bots.runtime.store.artifacts import ArtifactStore, Upload
from bots.runtime.store.backlog import BacklogStore
from bots.runtime.store.cases import CaseStore
from bots.runtime.store.dispatching import DispatchStore
from bots.runtime.store.engine import make_engine
from bots.runtime.store.events import SYSTEM_ACTOR, EventStore
from bots.runtime.store.items import ItemFilter, ItemStore, request_hash
from bots.runtime.store.operators import OperatorStore
from bots.runtime.store.outbox import OutboxStore
from bots.runtime.store.overview import OverviewStore
from bots.runtime.store.queues import QueueStore
from bots.runtime.store.runs import RunStore

__all__ = ["SYSTEM_ACTOR", "ItemFilter", "Store", "Upload", "make_engine", "request_hash"]


class Store(
    ItemStore,
    RunStore,
    DispatchStore,
    CaseStore,
    ArtifactStore,
    QueueStore,
    EventStore,
    BacklogStore,
    OutboxStore,
    OperatorStore,
    OverviewStore,
):
    """Every read and write of the runtime's tables goes through here."""
