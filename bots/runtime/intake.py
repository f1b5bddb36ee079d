"""The intake HTTP API the portal calls: submit requests, look up their status."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from bots.runtime.bot import Bot, Registry
from bots.runtime.errors import IdempotencyConflict, NotFound
from bots.runtime.maintenance import Dispatcher
from bots.runtime.models import WorkItem
from bots.runtime.settings import Settings
from bots.runtime.store import Store, Upload

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOADS = 20
MAX_KEY_LENGTH = 200


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.fields = fields or []


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in exc.errors(include_url=False)
    ]


def item_status(item: WorkItem) -> dict[str, Any]:
    """What the portal may see of an item: never a traceback, only the customer message of a rejection."""
    error: dict[str, Any] | None = None
    if item.error is not None and item.status.value in ("rejected", "failed"):
        message = (
            item.error.message
            if item.error.kind == "reject"
            else "Technischer Fehler; wir kümmern uns darum."
        )
        error = {
            "code": item.error.code if item.error.kind == "reject" else "system_error",
            "message": message,
        }
    return {
        "id": item.id,
        "queue": item.queue,
        "status": item.status.value,
        "reference": item.reference,
        "not_before": item.not_before.isoformat() if item.not_before else None,
        "result": item.result if item.status.value == "done" else None,
        "error": error,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


class Accepted(BaseModel):
    id: int
    status: str
    reference: str


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    fields: list[ErrorField] = []


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed body or Idempotency-Key"},
    401: {"model": ErrorBody, "description": "No valid bearer token"},
    409: {"model": ErrorBody, "description": "The Idempotency-Key was used for another request"},
    422: {"model": ErrorBody, "description": "Invalid fields; `fields` names each one"},
}
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {202: {"model": Accepted}, **ERROR_RESPONSES}


def request_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its nested definitions moved to the OpenAPI components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    return schema


def create_intake_app(
    store: Store, registry: Registry, dispatcher: Dispatcher, settings: Settings
) -> FastAPI:
    app = FastAPI(
        title="PortalBots intake",
        version="1",
        description="Requests from the customer portal to the back-office bots.",
    )
    token = settings.intake_token.get_secret_value().encode()
    extra_schemas: dict[str, Any] = {}

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.error, "message": exc.message}
        if exc.fields:
            body["fields"] = exc.fields
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

    def authorize(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
            raise ApiError(401, "unauthorized", "a valid bearer token is required")

    def idempotency_key(request: Request) -> str | None:
        key = request.headers.get("idempotency-key")
        if key is None:
            return None
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ApiError(
                400,
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
            )
        return key

    def accept(bot: Bot, payload: dict[str, Any], key: str | None, uploads: list[Upload]) -> JSONResponse:
        try:
            model = bot.request_model.model_validate(payload)
        except ValidationError as exc:
            raise ApiError(
                422, "invalid_request", "the request has invalid fields", field_errors(exc)
            ) from None
        data = model.model_dump(mode="json")
        try:
            item, created = store.submit(
                bot.queue,
                data,
                reference=key,
                customer_id=bot.customer_of(model),
                due_in=bot.sla,
                max_attempts=bot.max_attempts,
                uploads=uploads,
            )
        except IdempotencyConflict as exc:
            raise ApiError(409, "idempotency_conflict", str(exc)) from None
        if created:
            try:
                dispatcher.enqueue(item)
            except Exception:  # the item is stored; housekeeping resends it
                log.exception("could not enqueue item %s; housekeeping will resend it", item.id)
        headers = {"Location": f"/v1/items/{item.id}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(
            {"id": item.id, "status": item.status.value, "reference": item.reference},
            status_code=202,
            headers=headers,
        )

    def add_json_route(bot: Bot) -> None:
        async def submit(request: Request) -> JSONResponse:
            authorize(request)
            key = idempotency_key(request)
            try:
                payload = await request.json()
            except ValueError:
                raise ApiError(400, "invalid_json", "the body must be a JSON object") from None
            if not isinstance(payload, dict):
                raise ApiError(400, "invalid_json", "the body must be a JSON object")
            return await run_in_threadpool(accept, bot, payload, key, [])

        app.add_api_route(
            f"/v1/{bot.route}",
            submit,
            methods=["POST"],
            status_code=202,
            summary=bot.title,
            name=f"submit_{bot.queue}",
            responses=SUBMIT_RESPONSES,
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": request_schema(bot.request_model, extra_schemas)}
                    },
                },
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                    }
                ],
            },
        )

    def add_multipart_route(bot: Bot) -> None:
        async def submit(request: Request) -> JSONResponse:
            authorize(request)
            key = idempotency_key(request)
            try:
                form = await request.form(max_files=MAX_UPLOADS, max_fields=200)
            except Exception as exc:  # starlette raises several kinds for malformed multipart
                raise ApiError(400, "invalid_form", f"the multipart form could not be read: {exc}") from None
            fields: dict[str, list[str]] = {}
            uploads: list[Upload] = []
            for name, value in form.multi_items():
                if isinstance(value, str):
                    fields.setdefault(name, []).append(value)
                    continue
                data = await value.read(MAX_UPLOAD_BYTES + 1)
                if len(data) > MAX_UPLOAD_BYTES:
                    raise ApiError(
                        413,
                        "file_too_large",
                        f"file {value.filename!r} is larger than 20 MiB",
                        [{"field": name, "message": "file too large"}],
                    )
                uploads.append(Upload(value.filename or "unnamed", value.content_type or "", data))
            payload = bot.uploads_from_form(fields, uploads)
            return await run_in_threadpool(accept, bot, payload, key, uploads)

        app.add_api_route(
            f"/v1/{bot.route}",
            submit,
            methods=["POST"],
            status_code=202,
            summary=bot.title,
            name=f"submit_{bot.queue}",
            responses={**SUBMIT_RESPONSES, 413: {"model": ErrorBody, "description": "A file is too large"}},
        )

    for bot in registry:
        (add_multipart_route if bot.multipart else add_json_route)(bot)
        extra = getattr(bot, "intake_router", None)
        if extra is not None:
            app.include_router(extra(authorize))

    @app.get(
        "/v1/items/{item_id}",
        summary="Status of a submitted request",
        responses={401: ERROR_RESPONSES[401], 404: {"model": ErrorBody, "description": "No such item"}},
    )
    async def get_item(item_id: int, request: Request) -> JSONResponse:
        authorize(request)
        try:
            item = await run_in_threadpool(store.get, item_id)
        except NotFound:
            raise ApiError(404, "not_found", f"no item {item_id}") from None
        return JSONResponse(item_status(item))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = generate_openapi()
            doc.setdefault("components", {}).setdefault("schemas", {}).update(extra_schemas)
            doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            doc["security"] = [{"bearer": []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
