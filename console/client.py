"""The operator API's client: one method per endpoint, typed errors, no Qt (the views call it off the GUI
thread through console.tasks)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from console.errors import BY_STATUS, ApiError, TooManyAttempts, Unreachable

PREFIX = "/v1/ops"
# A local API answers at once; a remote one may be slow, never so slow that an action seems lost.
TIMEOUT = httpx.Timeout(20.0, connect=3.0)


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paged list and the cursor of the next one (None: the last page)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Download:
    data: bytes
    media_type: str
    filename: str


class ApiClient:
    """Talks to one operator API; after `login` or `setup` it sends the operator's bearer token."""

    def __init__(self, base_url: str, *, timeout: httpx.Timeout = TIMEOUT, http: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None
        self._lock = threading.Lock()
        self.operator: dict[str, Any] | None = None

    # ------------------------------------------------------------ plumbing

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        with self._lock:
            token = self._token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.request(method, PREFIX + path, headers=headers, **kw)
        except (httpx.TransportError, OSError) as exc:
            raise Unreachable(f"{self.base_url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._request(method, path, **kw).json()

    def _signed_in(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._token = str(body["token"])
        self.operator = dict(body["operator"])
        return self.operator

    # ------------------------------------------------------------ sign-in

    def setup_needed(self) -> bool:
        return bool(self._json("GET", "/setup")["needed"])

    def setup(self, name: str, password: str) -> dict[str, Any]:
        """Create the first supervisor and sign in as them."""
        return self._signed_in(self._json("POST", "/setup", json={"name": name, "password": password}))

    def login(self, name: str, password: str) -> dict[str, Any]:
        return self._signed_in(self._json("POST", "/login", json={"name": name, "password": password}))

    def logout(self) -> None:
        try:
            self._request("POST", "/logout")
        finally:
            with self._lock:
                self._token = None
            self.operator = None

    def me(self) -> dict[str, Any]:
        return dict(self._json("GET", "/me"))

    # ------------------------------------------------------------ queues

    def queues(self) -> dict[str, Any]:
        return dict(self._json("GET", "/queues"))

    def pause(self, queue: str, reason: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/queues/{queue}/pause", json={"reason": reason}))

    def resume(self, queue: str, reason: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/queues/{queue}/resume", json={"reason": reason}))

    # ------------------------------------------------------------ items

    def items(
        self, filters: Mapping[str, Any] | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> Page:
        """A page of items, newest first; `filters`: queue, status (one or a list), customer_id, reference,
        created_from, created_to, error_kind, error_code (empty values are left out)."""
        params = _params({**(filters or {}), "limit": limit, "cursor": cursor})
        body = self._json("GET", "/items", params=params)
        return Page(list(body["items"]), body.get("next_cursor"))

    def items_up_to(self, filters: Mapping[str, Any] | None, count: int, *, page: int = 100) -> Page:
        """The first `count` items, fetched `page` at a time (a refresh of what a list shows): between the
        pages the socket waits without Python, so the GUI thread never waits long for the interpreter."""
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            got = self.items(filters, limit=min(page, count - len(rows)), cursor=cursor)
            rows.extend(got.rows)
            cursor = got.next_cursor
            if cursor is None or len(rows) >= count:
                return Page(rows, cursor)

    def item(self, item_id: int) -> dict[str, Any]:
        return dict(self._json("GET", f"/items/{item_id}"))

    def artifact(self, item_id: int, artifact_id: int) -> Download:
        response = self._request("GET", f"/items/{item_id}/artifacts/{artifact_id}")
        media_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        return Download(response.content, media_type, _filename(response, f"artifact-{artifact_id}"))

    def retry(self, ids: Sequence[int], reason: str = "") -> list[dict[str, Any]]:
        body: dict[str, Any] = {"ids": list(ids)}
        if reason.strip():
            body["reason"] = reason
        return list(self._json("POST", "/items/retry", json=body)["results"])

    def abandon(self, ids: Sequence[int], reason: str) -> list[dict[str, Any]]:
        return list(
            self._json("POST", "/items/abandon", json={"ids": list(ids), "reason": reason})["results"]
        )

    def exceptions(self, queue: str | None = None) -> list[dict[str, Any]]:
        return list(self._json("GET", "/exceptions", params=_params({"queue": queue}))["groups"])

    # ------------------------------------------------------------ cases

    def cases(
        self,
        *,
        status: Iterable[str] = (),
        unit: Iterable[str] = (),
        queue: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        params = _params(
            {"status": list(status), "unit": list(unit), "queue": queue, "limit": limit, "cursor": cursor}
        )
        body = self._json("GET", "/cases", params=params)
        return Page(list(body["cases"]), body.get("next_cursor"))

    def case(self, case_id: int) -> dict[str, Any]:
        return dict(self._json("GET", f"/cases/{case_id}"))

    def claim(self, case_id: int) -> dict[str, Any]:
        return dict(self._json("POST", f"/cases/{case_id}/claim"))

    def release(self, case_id: int) -> dict[str, Any]:
        return dict(self._json("POST", f"/cases/{case_id}/release"))

    def add_note(self, case_id: int, text: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/cases/{case_id}/notes", json={"text": text}))

    def resolve(self, case_id: int, resolution: str, note: str = "") -> dict[str, Any]:
        return dict(
            self._json("POST", f"/cases/{case_id}/resolve", json={"resolution": resolution, "note": note})
        )

    # ------------------------------------------------------------ backlog, alerts

    def backlog(self, days: int = 3) -> dict[str, Any]:
        return dict(self._json("GET", "/backlog", params={"days": days}))

    def alerts(self, limit: int = 200) -> list[dict[str, Any]]:
        return list(self._json("GET", "/alerts", params={"limit": limit})["alerts"])


def _params(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters without the empty ones; a list repeats its name (`status=a&status=b`)."""
    out: list[tuple[str, str]] = []
    for name, value in values.items():
        for v in value if isinstance(value, list | tuple) else [value]:
            if v is not None and v != "":
                out.append((name, str(v)))
    return out


def _filename(response: httpx.Response, default: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return value.strip().strip('"') or default
    return default


def _error(response: httpx.Response) -> Exception:
    if response.status_code in (502, 503, 504):
        return Unreachable(f"{response.status_code} {response.reason_phrase}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    error = str(body.get("error") or response.reason_phrase or "error")
    message = str(body.get("message") or error)
    if response.status_code == 429:
        retry_after = response.headers.get("retry-after")
        try:
            seconds = float(retry_after) if retry_after else None
        except ValueError:
            seconds = None
        return TooManyAttempts(429, error, message, seconds)
    cls = BY_STATUS.get(response.status_code, ApiError)
    return cls(response.status_code, error, message, body.get("fields"))
