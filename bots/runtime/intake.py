"""The intake HTTP API the portal calls: submit requests, look up their status.

The contract is FastAPI's own, so `/openapi.json` states every rule a request must meet: the bearer token is a
security dependency of every `/v1` route, each bot's route takes that bot's request model as its typed body
(a multipart route: its form model and the files), and the `Idempotency-Key` is a declared header. A bot's
own read-only routes (`Bot.router`, e.g. a look-up for the portal's form) are mounted below `/v1` the same
way. Every error, whoever raises it, answers in one format (`ErrorBody`).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, File, Form, Header, Path, Request, Security, UploadFile
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from bots.runtime.api import (
    ApiError,
    ErrorBody,
    bearer_check,
    checked_token,
    field_errors,
    install_error_handlers,
    token_first_route,
)
from bots.runtime.bot import Bot, Registry, UploadLimits
from bots.runtime.errors import (
    ConfigurationError,
    FieldInvalid,
    IdempotencyConflict,
    NotFound,
)
from bots.runtime.item_view import portal_view
from bots.runtime.maintenance import Dispatcher
from bots.runtime.ops_api import ops_router
from bots.runtime.settings import Settings
from bots.runtime.store import Store, Upload
from bots.runtime.submission import Submitter

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = UploadLimits().max_file_bytes  # the defaults; a bot may set its own (Bot.upload_limits)
MAX_UPLOADS = UploadLimits().max_files
MAX_KEY_LENGTH = 200
MAX_ITEM_ID = 2**31 - 1  # item ids are 32-bit integers in every database
# Printable ASCII without leading or trailing blanks (HTTP servers strip those anyway).
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"


class Accepted(BaseModel):
    id: int
    status: str
    reference: str


class PortalError(BaseModel):
    code: str
    message: str


class ItemStatus(BaseModel):
    """What the portal sees of an item (`item_view.portal_view`)."""

    id: int
    queue: str
    status: str
    reference: str
    not_before: str | None
    result: dict[str, Any] | None
    error: PortalError | None
    created_at: str
    updated_at: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed body or Idempotency-Key"},
    401: {"model": ErrorBody, "description": "No valid bearer token"},
    409: {"model": ErrorBody, "description": "The Idempotency-Key was used for another request"},
    422: {"model": ErrorBody, "description": "Invalid fields; `fields` names each one"},
    413: {"model": ErrorBody, "description": "The body is larger than the intake accepts"},
    503: {
        "model": ErrorBody,
        "description": "The database cannot be reached; try again after `Retry-After` seconds",
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
    },
}
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": Accepted,
        "description": "Accepted: the request is stored and queued",
        "headers": {
            "Location": {"description": "Where its status is", "schema": {"type": "string"}},
            "Idempotent-Replayed": {
                "description": "`true` when the Idempotency-Key was seen before: this is the first request's item",
                "schema": {"type": "string", "enum": ["true"]},
            },
        },
    },
    **ERROR_RESPONSES,
}
# What a bot's own routes (`Bot.router`) answer besides their own: no token, invalid parameters.
BOT_ROUTE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: ERROR_RESPONSES[401],
    422: {"model": ErrorBody, "description": "Invalid parameters; `fields` names each one"},
}
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})
MULTIPART_RESPONSES: dict[int | str, dict[str, Any]] = {
    **SUBMIT_RESPONSES,
    413: {"model": ErrorBody, "description": "A file, or the files together, larger than the route accepts"},
}

BEARER = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="The token the portal shares with the intake"
)
# (str, not str | None: the parameters default to None, and the schema says a plain string)
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
        description="The portal's key for this request: the same key with the same request returns the first "
        "item (`Idempotent-Replayed: true`), with another request 409. It becomes the item's reference.",
    ),
]
ItemId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID, description="The `id` the submission answered with")]


def _body_limit(settings: Settings) -> Callable[[Request], int]:
    def limit(request: Request) -> int:
        is_form = request.headers.get("content-type", "").startswith("multipart/form-data")
        return settings.intake_max_form_bytes if is_form else settings.intake_max_json_bytes

    return limit


def mount_bot_routes(v1: APIRouter, bot: Bot, router: APIRouter) -> None:
    """A bot's own routes (`Bot.router`) below `/v1`. Each is added to `v1` anew, so it gets what every `/v1`
    route has: v1's route class (the bearer token checked before anything else, the body limit), the token
    as its security dependency (stated in the OpenAPI document) and the error body (401 and 422 stated too).
    Refused at start-up unless it is a GET route that no other `/v1` route answers already."""
    name = type(bot).__name__
    taken = {(_path_shape(r.path), m) for r in v1.routes if isinstance(r, APIRoute) for m in r.methods or ()}
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise ConfigurationError(f"bot {name}: its router may hold API routes only, not {route!r}")
        methods = sorted(route.methods or ())
        if not set(methods) <= READ_ONLY_METHODS:
            raise ConfigurationError(
                f"bot {name}: its own intake routes must be read-only (GET), {route.path} answers "
                f"{methods}; what a bot changes comes as a request to POST /v1/{bot.route}"
            )
        answers = {(_path_shape(v1.prefix + route.path), m) for m in methods}
        if answers & taken:
            raise ConfigurationError(
                f"bot {name}: another /v1 route answers {sorted(answers & taken)} already"
            )
        taken |= answers
        v1.add_api_route(
            route.path,
            route.endpoint,
            methods=methods,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses={**BOT_ROUTE_RESPONSES, **route.responses},
            deprecated=route.deprecated,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
        )


def _mib(size: int) -> str:
    """A byte limit as the error messages state it: '20 MiB', or exact bytes below one MiB."""
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size} bytes"


def _path_shape(path: str) -> str:
    """`/v1/items/{item_id}` and `/v1/items/{id}` are the same route: parameters named alike."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def create_intake_app(
    store: Store, registry: Registry, dispatcher: Dispatcher, settings: Settings
) -> FastAPI:
    app = FastAPI(
        title="PortalBots intake",
        version="1",
        description="Requests from the customer portal to the back-office bots.",
    )
    check_token = bearer_check(
        checked_token(settings.intake_token.get_secret_value(), "PORTALBOTS_INTAKE_TOKEN")
    )
    submitter = Submitter(store, dispatcher, settings)

    async def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    ) -> None:
        check_token(credentials)

    v1 = APIRouter(
        prefix="/v1",
        dependencies=[Security(require_token)],
        route_class=token_first_route(BEARER, check_token, _body_limit(settings)),
    )
    bad_key = ApiError(
        400,
        "invalid_idempotency_key",
        f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
    )
    install_error_handlers(app, {"idempotency-key": bad_key})

    def accept(bot: Bot, request: BaseModel, key: str | None, uploads: list[Upload]) -> JSONResponse:
        try:
            item, created = submitter.submit(bot, request, reference=key, uploads=uploads)
        except FieldInvalid as exc:
            fields = [{"field": exc.field, "message": exc.message}]
            raise ApiError(422, "invalid_request", "the request has invalid fields", fields) from None
        except IdempotencyConflict as exc:
            raise ApiError(409, "idempotency_conflict", str(exc)) from None
        headers = {"Location": f"/v1/items/{item.id}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(
            {"id": item.id, "status": item.status.value, "reference": item.reference},
            status_code=202,
            headers=headers,
        )

    def json_endpoint(bot: Bot) -> Callable[..., Coroutine[Any, Any, JSONResponse]]:
        """An endpoint whose body is the bot's request model: FastAPI validates and documents it."""

        async def submit(body: BaseModel, idempotency_key: str | None = None) -> JSONResponse:
            return await run_in_threadpool(accept, bot, body, idempotency_key, [])

        submit.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    "body",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[bot.request_model, Body(description=bot.request_model.__doc__)],
                ),
                inspect.Parameter(
                    "idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey
                ),
            ]
        )
        return submit

    def multipart_endpoint(bot: Bot) -> Callable[..., Coroutine[Any, Any, JSONResponse]]:
        """An endpoint for multipart/form-data: the bot's form model (FastAPI validates and documents it)
        and `files`; the bot turns both into the payload its request model validates. The bot's upload
        limits are checked before anything is stored."""
        limits = bot.upload_limits()
        mib = _mib(limits.max_file_bytes)

        async def submit(
            request: Request, form: BaseModel, files: list[UploadFile], idempotency_key: str | None = None
        ) -> JSONResponse:
            if len(files) > limits.max_files:
                raise ApiError(
                    400, "invalid_form", f"at most {limits.max_files} files may come with a request"
                )
            if len(files) < limits.min_files:
                raise ApiError(
                    422,
                    "invalid_request",
                    "the request has invalid fields",
                    [{"field": "files", "message": f"at least {limits.min_files} file(s) must come with it"}],
                )
            uploads: list[Upload] = []
            total = 0
            for upload in files:
                data = await upload.read(limits.max_file_bytes + 1)
                if len(data) > limits.max_file_bytes:
                    raise ApiError(
                        413,
                        "file_too_large",
                        f"file {upload.filename!r} is larger than {mib}",
                        [{"field": "files", "message": "file too large"}],
                    )
                total += len(data)
                if limits.max_total_bytes is not None and total > limits.max_total_bytes:
                    raise ApiError(
                        413,
                        "files_too_large",
                        f"the files together are larger than {_mib(limits.max_total_bytes)}",
                        [{"field": "files", "message": "files too large together"}],
                    )
                media_type = upload.content_type or "application/octet-stream"
                uploads.append(Upload(upload.filename or "unnamed", media_type, data))
            uploads = bot.stored_uploads(uploads)
            fields: dict[str, list[str]] = {}
            for name, value in (await request.form()).multi_items():  # parsed once, by FastAPI
                if isinstance(value, str):
                    fields.setdefault(name, []).append(value)
            try:
                model = bot.request_model.model_validate(bot.payload_from_form(fields, uploads))
            except ValidationError as exc:
                raise ApiError(
                    422,
                    "invalid_request",
                    "the request has invalid fields",
                    field_errors(exc.errors(include_url=False)),
                ) from None
            return await run_in_threadpool(accept, bot, model, idempotency_key, uploads)

        form_model = bot.form_model or bot.request_model
        together = f", {_mib(limits.max_total_bytes)} together" if limits.max_total_bytes is not None else ""
        submit.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
                inspect.Parameter(
                    "form",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[form_model, Form(description=form_model.__doc__)],
                ),
                inspect.Parameter(
                    "files",
                    inspect.Parameter.KEYWORD_ONLY,
                    # required when the bot wants files: the schema says so, not only the 422
                    **({"default": []} if limits.min_files == 0 else {}),
                    annotation=Annotated[
                        list[UploadFile],
                        File(
                            description=f"The documents: {limits.min_files} to {limits.max_files} files of at "
                            f"most {mib} each{together}, stored with the item",
                            json_schema_extra={"minItems": limits.min_files, "maxItems": limits.max_files},
                        ),
                    ],
                ),
                inspect.Parameter(
                    "idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey
                ),
            ]
        )
        return submit

    for bot in registry:
        v1.add_api_route(
            f"/{bot.route}",
            multipart_endpoint(bot) if bot.multipart else json_endpoint(bot),
            methods=["POST"],
            status_code=202,
            summary=bot.title,
            name=f"submit_{bot.queue}",
            response_class=JSONResponse,
            responses=MULTIPART_RESPONSES if bot.multipart else SUBMIT_RESPONSES,
        )

    @v1.get(
        "/items/{item_id}",
        summary="Status of a submitted request",
        response_model=ItemStatus,
        responses={
            401: ERROR_RESPONSES[401],
            503: ERROR_RESPONSES[503],
            404: {"model": ErrorBody, "description": "No such item"},
            422: {"model": ErrorBody, "description": "The item id is not a positive integer"},
        },
    )
    async def get_item(item_id: ItemId) -> JSONResponse:
        try:
            item = await run_in_threadpool(store.get, item_id)
        except NotFound:
            raise ApiError(404, "not_found", f"no item {item_id}") from None
        return JSONResponse(portal_view(item))

    for bot in registry:
        own = bot.router()
        if own is not None:
            mount_bot_routes(v1, bot, own)
    app.include_router(v1)
    # the operator API beside the intake, signed in by operators' tokens, not the portal's
    app.include_router(ops_router(store, registry, settings))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
