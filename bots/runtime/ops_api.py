"""The operator API (`/v1/ops`): what the console shows and does, authorised and audited on the server.

Supervisors may do everything; clerks see only the cases of their units and the items of those cases, and
none of the supervisors' actions. Every route checks the operator's token before it reads the body (401,
never 422, without one), a supervisor's route checks the role before the body too (403); every action is
an event under the operator's name, and every request is logged by `bots.runtime.ops.audit` (operator,
method, path, status). Served beside the intake (`create_intake_app` includes `ops_router`), or alone on
loopback for the console (`create_ops_app`), where first-run setup may be allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from bots.runtime import ops_models as m
from bots.runtime.api import ApiError, install_error_handlers
from bots.runtime.bot import Registry
from bots.runtime.calendar import Calendars
from bots.runtime.errors import (
    InvalidTransition,
    OperatorExists,
    UnknownQueue,
)
from bots.runtime.item_view import (
    case_view,
    item_cases,
    operator_detail,
    operator_row,
)
from bots.runtime.models import Case, Operator, Resolution, Role, WorkItem
from bots.runtime.operators import (
    Authenticator,
    InvalidCredentials,
    Session,
    TooManyAttempts,
    add_operator,
)
from bots.runtime.ops_params import (
    ACTION,
    COMMON,
    LOOKUP,
    MAX_ITEM_ID,
    UNIT_PATTERN,
    CaseCursor,
    CaseId,
    Instant,
    ItemCursor,
    ItemId,
    QueueName,
    case_cursor,
    case_key,
    error_answer,
    item_cursor,
)
from bots.runtime.ops_route import Access, Op, invalid, ops_route, translated
from bots.runtime.projection import system_backlog
from bots.runtime.resolutions import decide, offered
from bots.runtime.settings import Settings
from bots.runtime.states import CaseStatus, Status
from bots.runtime.store import ItemFilter, Store
from bots.runtime.store.overview import QueueFigures

PREFIX = "/v1/ops"


# ------------------------------------------------------------------ views


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _session(session: Session) -> dict[str, Any]:
    return {
        "token": session.token,
        "expires_at": session.expires_at.isoformat(),
        "operator": session.operator.as_json(),
    }


def attachment(filename: str) -> str:
    """`Content-Disposition` of a download: an ASCII name for every client, the exact one (RFC 6266) for those
    that read it."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _forbidden(what: str) -> ApiError:
    return ApiError(403, "forbidden", f"{what} is not in your units")


# ------------------------------------------------------------------ the router


def ops_router(
    store: Store, registry: Registry, settings: Settings, *, allow_setup: bool = False
) -> APIRouter:
    """Every `/v1/ops` route; `allow_setup`: the first supervisor may be created without signing in while
    no operator exists (the console's own local API only)."""
    authenticator = Authenticator(store, settings)
    calendars = Calendars(settings)
    zone = ZoneInfo(settings.timezone)
    methods: dict[str, set[str]] = {}
    public = APIRouter(route_class=ops_route(authenticator, Access.PUBLIC, methods), tags=["operators"])
    ops = APIRouter(route_class=ops_route(authenticator, Access.OPERATOR, methods), tags=["operators"])
    sup = APIRouter(route_class=ops_route(authenticator, Access.SUPERVISOR, methods), tags=["operators"])

    def resolutions_of(queue: str) -> tuple[Resolution, ...]:
        return offered(registry, queue)

    def case_out(case: Case) -> dict[str, Any]:
        view = case_view(case, resolutions_of(case.queue))
        view["overdue"] = (
            case.status != CaseStatus.RESOLVED and case.due_at is not None and case.due_at < store.now()
        )
        return view

    def visible_case(operator: Operator, case_id: int) -> Case:
        with translated():
            case = store.get_case(case_id)
        if not operator.may_see_unit(case.unit):
            raise _forbidden(f"case {case_id}")
        return case

    def visible_item(operator: Operator, item_id: int) -> tuple[WorkItem, list[Case]]:
        with translated():
            item = store.get(item_id)
        cases = item_cases(store, item_id)
        if not operator.is_supervisor:
            cases = [c for c in cases if operator.may_see_unit(c.unit)]
            if not cases:
                raise _forbidden(f"no case of item {item_id}")
        return item, cases

    def known_queues() -> list[str]:
        return sorted(set(registry.queues) | set(store.counts()))

    def queue_out(queue: str, figures: QueueFigures, now: datetime) -> dict[str, Any]:
        state = store.queue_state(queue)
        oldest = figures.oldest_waiting_at
        try:
            title = registry.get(queue).title
        except UnknownQueue:
            title = queue
        return {
            "queue": queue,
            "title": title,
            "counts": figures.counts,
            "deferred": figures.deferred,
            "done_today": figures.done_since,
            "throughput_per_hour": float(figures.done_recent),
            "oldest_waiting_at": _iso(oldest),
            "oldest_waiting_seconds": (now - oldest).total_seconds() if oldest is not None else None,
            "past_due": figures.past_due,
            "paused": state.paused,
            "paused_by": state.paused_by,
            "paused_reason": state.paused_reason,
            "paused_at": _iso(state.paused_at),
            "resume_at": _iso(state.resume_at),
        }

    def figures_of(queues: Sequence[str]) -> tuple[datetime, dict[str, QueueFigures]]:
        now = store.now()
        day_start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        return now, store.queue_figures(queues, day_start=day_start, recent_since=now - timedelta(hours=1))

    # ---------------------------------------------------------------- sign-in

    @public.post(
        "/login",
        response_model=m.SessionOut,
        responses={
            **COMMON,
            401: error_answer("Unknown name or wrong password (`invalid_credentials`)"),
            429: {
                **error_answer("Too many failed sign-ins for this name; wait `Retry-After` seconds"),
                "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
            },
        },
    )
    def login(request: Request, body: m.LoginBody) -> JSONResponse:
        request.state.audit_name = body.name[:64]
        try:
            session = authenticator.login(body.name, body.password)
        except TooManyAttempts as exc:
            return JSONResponse(
                {"error": "too_many_attempts", "message": str(exc)},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        except InvalidCredentials:
            raise ApiError(401, "invalid_credentials", "unknown name or wrong password") from None
        return JSONResponse(_session(session))

    @ops.post("/logout", status_code=204, responses=COMMON)
    def logout(request: Request, operator: Op) -> Response:
        credentials = request.headers.get("authorization", "")
        authenticator.logout(credentials.partition(" ")[2].strip(), operator)
        return Response(status_code=204)

    @ops.get("/me", response_model=m.OperatorOut, responses=COMMON)
    def me(operator: Op) -> JSONResponse:
        return JSONResponse(operator.as_json())

    @public.get("/setup", response_model=m.SetupNeeded, responses=COMMON)
    def setup_needed() -> JSONResponse:
        return JSONResponse({"needed": allow_setup and store.operator_count() == 0})

    @public.post("/setup", status_code=201, response_model=m.SessionOut, responses=COMMON)
    def setup(request: Request, body: m.SetupBody) -> JSONResponse:
        request.state.audit_name = body.name
        if not allow_setup:
            raise ApiError(403, "forbidden", "setup is done with `portalbots operators add` here")
        try:
            add_operator(
                store, settings, body.name, Role.SUPERVISOR, (), body.password, actor=body.name, first=True
            )
        except OperatorExists:
            raise ApiError(403, "forbidden", "an operator exists already; sign in") from None
        except ValueError as exc:
            raise invalid("password", str(exc)) from None
        return JSONResponse(_session(authenticator.login(body.name, body.password)), status_code=201)

    # ---------------------------------------------------------------- queues

    @ops.get("/queues", response_model=m.QueuesOut, responses=COMMON)
    def queues(operator: Op) -> JSONResponse:
        now, figures = figures_of(registry.queues)
        return JSONResponse(
            {"at": now.isoformat(), "queues": [queue_out(q, f, now) for q, f in sorted(figures.items())]}
        )

    def one_queue(queue: str) -> dict[str, Any]:
        now, figures = figures_of([queue])
        return queue_out(queue, figures[queue], now)

    def known(queue: str) -> None:
        if queue not in known_queues():
            raise ApiError(404, "not_found", f"no queue {queue!r}")

    @sup.post("/queues/{queue}/pause", response_model=m.QueueOut, responses=ACTION)
    def pause(queue: QueueName, body: m.ReasonBody, operator: Op) -> JSONResponse:
        known(queue)
        if not store.pause_queue(queue, operator.name, body.reason.strip()):
            raise ApiError(409, "conflict", f"queue {queue} is paused already")
        return JSONResponse(one_queue(queue))

    @sup.post("/queues/{queue}/resume", response_model=m.QueueOut, responses=ACTION)
    def resume(queue: QueueName, body: m.ReasonBody, operator: Op) -> JSONResponse:
        known(queue)
        if not store.resume_queue(queue, operator.name, body.reason.strip()):
            raise ApiError(409, "conflict", f"queue {queue} is not paused")
        return JSONResponse(one_queue(queue))

    # ---------------------------------------------------------------- items

    @ops.get("/items", response_model=m.ItemPage, responses=COMMON)
    def items(
        operator: Op,
        queue: Annotated[str | None, Query(max_length=64)] = None,
        status: Annotated[list[Status] | None, Query()] = None,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        reference: Annotated[str | None, Query(max_length=200)] = None,
        created_from: Instant | None = None,
        created_to: Instant | None = None,
        error_kind: Annotated[str | None, Query(max_length=64)] = None,
        error_code: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: ItemCursor = None,
    ) -> JSONResponse:
        matching = ItemFilter(
            queue=queue,
            statuses=tuple(status or ()),
            customer_id=customer_id,
            reference=reference,
            created_from=created_from,
            created_to=created_to,
            error_kind=error_kind,
            error_code=error_code,
            units=None if operator.is_supervisor else operator.units,
        )
        found = store.item_page(
            matching, before_id=int(cursor) if cursor is not None else None, limit=limit + 1
        )
        page = found[:limit]
        more = len(found) > limit
        return JSONResponse(
            {
                "items": [operator_row(i) for i in page],
                "next_cursor": item_cursor(page[-1]) if more else None,
            }
        )

    @ops.get("/items/{item_id}", response_model=m.ItemDetail, responses=LOOKUP)
    def item(item_id: ItemId, operator: Op) -> JSONResponse:
        found, cases = visible_item(operator, item_id)
        return JSONResponse(
            operator_detail(
                found,
                events=store.events("item", item_id),
                artifacts=store.artifacts(item_id),
                cases=cases,
                resolutions=resolutions_of(found.queue),
            )
        )

    @ops.get(
        "/items/{item_id}/artifacts/{artifact_id}",
        response_class=Response,
        responses={**LOOKUP, 200: {"description": "The artifact's bytes", "content": {"*/*": {}}}},
    )
    def artifact(
        item_id: ItemId, artifact_id: Annotated[int, Path(ge=1, le=MAX_ITEM_ID)], operator: Op
    ) -> Response:
        visible_item(operator, item_id)
        with translated():
            art, data = store.artifact_bytes(artifact_id)
        if art.item_id != item_id:
            raise ApiError(404, "not_found", f"item {item_id} has no artifact {artifact_id}")
        return Response(
            data, media_type=art.media_type, headers={"Content-Disposition": attachment(art.filename)}
        )

    def each(ids: Sequence[int], change: Callable[[int], WorkItem]) -> JSONResponse:
        results: list[dict[str, Any]] = []
        for item_id in dict.fromkeys(ids):
            try:
                with translated():
                    changed = change(item_id)
                results.append({"id": item_id, "ok": True, "status": changed.status.value})
            except ApiError as exc:
                results.append({"id": item_id, "ok": False, "error": exc.message})
        return JSONResponse({"results": results})

    @sup.post("/items/retry", response_model=m.ActionResults, responses=COMMON)
    def retry(body: m.RetryBody, operator: Op) -> JSONResponse:
        reason = (body.reason or "").strip() or "retried by an operator"

        def one(item_id: int) -> WorkItem:
            current = store.get(item_id)
            if current.status != Status.FAILED:
                raise InvalidTransition(f"item {item_id} is {current.status}; only a failed item is retried")
            return store.change_status(
                item_id,
                Status.PENDING,
                actor=operator.name,
                reason=reason,
                reset_attempts=True,
                expected_version=current.version,
            )

        return each(body.ids, one)

    @sup.post("/items/abandon", response_model=m.ActionResults, responses=COMMON)
    def abandon(body: m.AbandonBody, operator: Op) -> JSONResponse:
        reason = body.reason.strip()
        return each(
            body.ids,
            lambda item_id: store.change_status(
                item_id, Status.ABANDONED, actor=operator.name, reason=reason
            ),
        )

    # ---------------------------------------------------------------- exceptions

    @sup.get("/exceptions", response_model=m.ExceptionsOut, responses=COMMON)
    def exceptions(operator: Op, queue: Annotated[str | None, Query(max_length=64)] = None) -> JSONResponse:
        groups = store.exception_groups(queue)
        groups.sort(key=lambda g: g.latest_at, reverse=True)
        return JSONResponse(
            {
                "groups": [
                    {
                        "queue": g.queue,
                        "kind": g.kind,
                        "code": g.code,
                        "count": g.count,
                        "latest_at": g.latest_at.isoformat(),
                        "message": g.message,
                        "item_ids": list(g.item_ids),
                    }
                    for g in groups
                ]
            }
        )

    # ---------------------------------------------------------------- cases

    @ops.get("/cases", response_model=m.CasePage, responses=COMMON)
    def cases(
        operator: Op,
        status: Annotated[list[CaseStatus] | None, Query()] = None,
        unit: Annotated[list[Annotated[str, Query(pattern=UNIT_PATTERN)]] | None, Query()] = None,
        queue: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: CaseCursor = None,
    ) -> JSONResponse:
        units: tuple[str, ...] | None = tuple(unit) if unit else None
        if not operator.is_supervisor:
            outside = [u for u in units or () if u not in operator.units]
            if outside:
                raise _forbidden(f"unit {outside[0]!r}")
            units = units or operator.units
        found = store.case_page(
            units=units,
            statuses=tuple(status or ()),
            queue=queue,
            after=case_key(cursor),
            limit=limit + 1,
        )
        page = found[:limit]
        more = len(found) > limit
        last = page[-1] if page else None
        return JSONResponse(
            {
                "cases": [case_out(c) for c in page],
                "next_cursor": case_cursor(last) if more and last else None,
            }
        )

    @ops.get("/cases/{case_id}", response_model=m.CaseDetail, responses=LOOKUP)
    def case(case_id: CaseId, operator: Op) -> JSONResponse:
        found = visible_case(operator, case_id)
        return JSONResponse({**case_out(found), "item": operator_row(store.get(found.item_id))})

    @ops.post("/cases/{case_id}/claim", response_model=m.CaseView, responses=ACTION)
    def claim(case_id: CaseId, operator: Op) -> JSONResponse:
        found = visible_case(operator, case_id)
        if found.status == CaseStatus.CLAIMED and found.assignee != operator.name:
            raise ApiError(409, "conflict", f"case {case_id} is claimed by {found.assignee}")
        with translated():
            return JSONResponse(case_out(store.claim_case(case_id, operator.name)))

    @ops.post("/cases/{case_id}/release", response_model=m.CaseView, responses=ACTION)
    def release(case_id: CaseId, operator: Op) -> JSONResponse:
        found = visible_case(operator, case_id)
        if (
            found.status == CaseStatus.CLAIMED
            and found.assignee != operator.name
            and not operator.is_supervisor
        ):
            raise ApiError(
                403,
                "forbidden",
                f"case {case_id} is claimed by {found.assignee}; only they or a supervisor may release it",
            )
        with translated():
            return JSONResponse(case_out(store.release_case(case_id, operator.name)))

    @ops.post("/cases/{case_id}/notes", response_model=m.CaseView, responses=ACTION)
    def note(case_id: CaseId, body: m.NoteBody, operator: Op) -> JSONResponse:
        visible_case(operator, case_id)
        with translated():
            return JSONResponse(case_out(store.add_case_note(case_id, operator.name, body.text.strip())))

    @ops.post("/cases/{case_id}/resolve", response_model=m.Decided, responses=ACTION)
    def resolve(case_id: CaseId, body: m.ResolveBody, operator: Op) -> JSONResponse:
        visible_case(operator, case_id)
        with translated():
            decided, item = decide(store, registry, case_id, operator.name, body.resolution, body.note)
        return JSONResponse({"case": case_out(decided), "item": operator_row(item)})

    # ---------------------------------------------------------------- backlog and alerts

    @ops.get("/backlog", response_model=m.BacklogOut, responses=COMMON)
    def backlog(operator: Op, days: Annotated[int, Query(ge=1, le=31)] = 3) -> JSONResponse:
        now = store.now()
        since = now - timedelta(hours=settings.ops_throughput_hours)
        systems: dict[str, list[str]] = {}
        for bot in registry:
            for system in bot.systems:
                systems.setdefault(system, []).append(bot.queue)
        figures = store.queue_figures(registry.queues, day_start=now, recent_since=now)
        counts = {q: f.counts for q, f in figures.items()}
        deferred = {q: f.deferred for q, f in figures.items()}
        done = store.done_counts(since)
        out = []
        for system, queues_of in sorted(systems.items()):
            b = system_backlog(calendars.get(system), queues_of, counts, deferred, done, since=since, now=now)
            out.append(
                {
                    "system": b.system,
                    "open": b.open,
                    "closed_reason": b.closed_reason,
                    "next_opening": _iso(b.next_opening),
                    "next_closing": _iso(b.next_closing),
                    "queues": list(b.queues),
                    "waiting": b.waiting,
                    "waiting_total": b.waiting_total,
                    "deferred": b.deferred,
                    "throughput_per_hour": b.throughput_per_hour,
                    "projected_drained_at": _iso(b.projected_drained_at),
                }
            )
        snapshots = [
            {
                "at": p.at.isoformat(),
                "queue": p.queue,
                "status": p.status,
                "reason": p.reason,
                "count": p.count,
            }
            for p in store.backlog(now - timedelta(days=days))
        ]
        return JSONResponse({"at": now.isoformat(), "systems": out, "snapshots": snapshots})

    @ops.get("/alerts", response_model=m.AlertsOut, responses=COMMON)
    def alerts(operator: Op, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> JSONResponse:
        found = store.alerts(units=None if operator.is_supervisor else operator.units, limit=limit)
        return JSONResponse(
            {
                "alerts": [
                    {
                        "kind": a.kind,
                        "at": a.at.isoformat(),
                        "queue": a.queue,
                        "subject_id": a.subject_id,
                        "message": a.message,
                    }
                    for a in found
                ]
            }
        )

    router = APIRouter(prefix=PREFIX)
    router.include_router(public)
    # before `GET /items/{item_id}`, so that `/items/retry` is matched as itself (its Allow header too)
    router.include_router(sup)
    router.include_router(ops)
    return router


def create_ops_app(store: Store, registry: Registry, settings: Settings, *, allow_setup: bool) -> FastAPI:
    """An app that serves only the operator API (the console's local API, on loopback)."""
    app = FastAPI(
        title="PortalBots operator API", version="1", description="What the console shows and does."
    )
    install_error_handlers(app)
    app.include_router(ops_router(store, registry, settings, allow_setup=allow_setup))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
