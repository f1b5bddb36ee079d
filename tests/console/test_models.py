"""The console's table models without a window: columns, roles, keeping rows by key, paging."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from console.i18n import set_language
from console.models.base import KEY_ROLE, ROW_ROLE, SORT_ROLE
from console.models.cases import COL_DUE, CasesModel
from console.models.items import COL_ID, COL_STATUS, ItemsModel
from console.models.queues import COL_DEFERRED, COL_PAUSED, COL_PENDING, QueuesModel


@pytest.fixture(autouse=True)
def german() -> Any:
    set_language("de")
    yield
    set_language("de")


def item(n: int, status: str = "pending", **kw: Any) -> dict[str, Any]:
    return {"id": n, "queue": "ark_certificate", "status": status, "reference": f"ARK-{n}", "customer_id": "K1",
            "attempts": 0, "max_attempts": 5, "defer_reason": None, "due_at": None,
            "created_at": "2026-11-24T09:00:00+00:00", "updated_at": "2026-11-24T09:00:00+00:00", **kw}  # fmt: skip


def test_items_model_shows_translated_states_and_sorts_ids_as_numbers(qapp: Any) -> None:
    model = ItemsModel()
    model.set_rows([item(9), item(10, "failed"), item(11, "deferred", defer_reason="service_window")])
    assert model.headerData(COL_STATUS, Qt.Orientation.Horizontal) == "Zustand"
    assert model.data(model.index(1, COL_STATUS)) == "fehlgeschlagen"
    assert model.data(model.index(2, COL_STATUS)) == "zurückgestellt (Servicezeit)"
    assert model.data(model.index(0, COL_ID), SORT_ROLE) == 9
    assert model.data(model.index(1, 0), KEY_ROLE) == 10
    assert model.data(model.index(1, 0), ROW_ROLE)["reference"] == "ARK-10"
    set_language("en")
    assert model.data(model.index(1, COL_STATUS)) == "failed"


def test_same_keys_change_cells_in_place_other_keys_reset(qapp: Any) -> None:
    model = ItemsModel()
    resets: list[int] = []
    changed: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda *_a: changed.append(1))
    assert model.set_rows([item(1), item(2)]) is True
    assert model.set_rows([item(1, "running"), item(2)]) is False
    assert (len(resets), len(changed)) == (1, 1)
    assert model.set_rows([item(1, "running"), item(2)]) is False  # nothing changed: nothing to repaint
    assert len(changed) == 1
    assert model.data(model.index(0, COL_STATUS)) == "läuft"
    assert model.set_rows([item(3), item(1), item(2)]) is True
    assert model.row_of(1) == 1


def test_fetch_more_asks_once_per_page(qapp: Any) -> None:
    model = ItemsModel()
    asked: list[int] = []
    model.more_wanted.connect(lambda: asked.append(1))
    model.set_rows([item(3), item(2)], has_more=True)
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert asked == [1]
    model.append_rows([item(2), item(1)], has_more=False)  # a row already shown is not doubled
    assert [model.row_at(r)["id"] for r in range(model.rowCount())] == [3, 2, 1]
    assert not model.canFetchMore(QModelIndex())


def test_queues_model_shows_deferred_reasons_and_who_paused(qapp: Any) -> None:
    model = QueuesModel()
    queue = {"queue": "bank_change", "title": "Bankverbindung ändern",
             "counts": {"pending": 1234, "deferred": 5}, "deferred": {"service_window": 4, "retry_backoff": 1},
             "paused": True, "paused_by": "breaker", "paused_reason": "5 Systemfehler"}  # fmt: skip
    model.set_rows([queue])
    assert model.data(model.index(0, COL_PENDING)) == "1.234"
    assert model.data(model.index(0, COL_DEFERRED), Qt.ItemDataRole.ToolTipRole) == (
        "Wartezeit vor neuem Versuch: 1\nServicezeit: 4"
    )
    assert model.data(model.index(0, COL_PAUSED)) == "angehalten von breaker: 5 Systemfehler"


def test_overdue_cases_stand_out(qapp: Any) -> None:
    model = CasesModel()
    case = {"id": 1, "item_id": 7, "queue": "q", "unit": "Kranken", "status": "open", "due_at": None}
    model.set_rows([{**case, "overdue": True}, {**case, "id": 2, "overdue": False}])
    assert model.data(model.index(0, COL_DUE), Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(model.index(1, COL_DUE), Qt.ItemDataRole.BackgroundRole) is None
    assert model.data(model.index(0, COL_DUE), Qt.ItemDataRole.FontRole).bold()
