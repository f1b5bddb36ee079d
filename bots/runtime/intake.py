"""The intake HTTP API the portal calls: submit requests, look up their status.

The contract is FastAPI's own, so `/openapi.json` states every rule a request must meet: the bearer token is a
security dependency of every `/v1` route, each bot's route takes that bot's request model as its typed body
(a multipart route: its form model and the files), and the `Idempotency-Key` is a declared header. Every
error, whoever raises it, answers in one format (`ErrorBody`).
"""

from __future__ import annotations

import hmac
import inspect
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, FastAPI, File, Form, Header, Path, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from bots.runtime.bot import Bot, Registry
from bots.runtime.errors import (
    ConfigurationError,
    FieldInvalid,
    IdempotencyConflict,
    NotFound,
    StoreUnavailable,
)
from bots.runtime.item_view import portal_view
from bots.runtime.maintenance import Dispatcher
from bots.runtime.settings import Settings
from bots.runtime.store import Store, Upload

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOADS = 20
MAX_KEY_LENGTH = 200
MIN_TOKEN_LENGTH = 16
RETRY_AFTER_SECONDS = 5  # what a 503 asks the portal to wait while the database is away
MAX_ITEM_ID = 2**31 - 1  # item ids are 32-bit integers in every database
# Printable ASCII without leading or trailing blanks (HTTP servers strip those anyway).
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.fields = fields or []


_LOCATIONS = ("body", "path", "query", "header", "cookie")


def field_name(loc: Sequence[str | int], *, located: bool = False) -> str:
    """The field as the client named it, e.g. `languages.0`; `body` for an error of the whole body.
    `located`: the first part is FastAPI's location ("body", "path", …), which the client never wrote."""
    parts = list(loc)
    if located and parts and parts[0] in _LOCATIONS and len(parts) > 1:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def field_errors(errors: Iterable[Mapping[str, Any]], *, located: bool = False) -> list[dict[str, str]]:
    """`ErrorBody.fields` from pydantic's validation errors (`located`: FastAPI's, which lead with where)."""
    return [{"field": field_name(e["loc"], located=located), "message": str(e["msg"])} for e in errors]


def _is_key_error(error: Mapping[str, Any]) -> bool:
    return tuple(error["loc"][:1]) == ("header",) and str(error["loc"][-1]).lower() == "idempotency-key"


# Errors of the body as a whole: no JSON, or JSON that is not an object.
_BODY_SHAPE_ERRORS = frozenset(
    {"json_invalid", "missing", "model_type", "model_attributes_type", "dict_type"}
)


def _is_body_shape(error: Mapping[str, Any]) -> bool:
    loc = tuple(error["loc"])
    return error["type"] == "json_invalid" or (loc == ("body",) and error["type"] in _BODY_SHAPE_ERRORS)


def _status_code_name(status: int) -> str:
    """`method_not_allowed` for 405: the `error` of an HTTP error FastAPI or Starlette raise."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return f"http_{status}"


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
MULTIPART_RESPONSES: dict[int | str, dict[str, Any]] = {
    **SUBMIT_RESPONSES,
    413: {"model": ErrorBody, "description": f"A file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB"},
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


def _token_first_route(
    check: Callable[[HTTPAuthorizationCredentials | None], None], settings: Settings
) -> type[APIRoute]:
    """A route class that checks the bearer token before FastAPI reads the body, so a request without a
    valid token is answered 401 (never 400 or 422) and its body, maybe a large upload, is never parsed;
    then it reads the body up to its limit (413 beyond it, before the rest is read)."""

    class TokenFirstRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                check(await BEARER(request))
                if request.method in ("POST", "PUT", "PATCH"):
                    await _read_body(request, _body_limit(request, settings))
                return await handler(request)

            return handle

    return TokenFirstRoute


def _body_limit(request: Request, settings: Settings) -> int:
    is_form = request.headers.get("content-type", "").startswith("multipart/form-data")
    return settings.intake_max_form_bytes if is_form else settings.intake_max_json_bytes


async def _read_body(request: Request, limit: int) -> None:
    """Read the body into the request (FastAPI parses it from there), refusing one over `limit` bytes as soon
    as that is known: from Content-Length before reading, else while reading."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    request._body = bytes(body)  # what Request.body() caches; FastAPI's parsing reads it from there


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the request body is larger than {limit} bytes")


def _nul_fields(value: Any, path: str = "") -> list[str]:
    """The fields of a JSON-like value whose text holds a NUL character, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _nul_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _nul_fields(v, f"{path}.{i}" if path else str(i))]
    return []


def create_intake_app(
    store: Store, registry: Registry, dispatcher: Dispatcher, settings: Settings
) -> FastAPI:
    app = FastAPI(
        title="PortalBots intake",
        version="1",
        description="Requests from the customer portal to the back-office bots.",
    )
    token = settings.intake_token.get_secret_value().encode()
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"PORTALBOTS_INTAKE_TOKEN must be at least {MIN_TOKEN_LENGTH} characters long (it has {len(token)}): "
            "set it to a secret shared with the portal, e.g. `openssl rand -hex 32`"
        )
    tz = ZoneInfo(settings.timezone)

    def check_token(credentials: HTTPAuthorizationCredentials | None) -> None:
        given = credentials.credentials.encode() if credentials is not None else b""
        # compare first, so the time taken does not tell which check failed; empty never passes
        if not (hmac.compare_digest(given, token) and given and token):
            raise ApiError(401, "unauthorized", "a valid bearer token is required")

    async def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    ) -> None:
        check_token(credentials)

    v1 = APIRouter(
        prefix="/v1",
        dependencies=[Security(require_token)],
        route_class=_token_first_route(check_token, settings),
    )

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.error, "message": exc.message}
        if exc.fields:
            body["fields"] = exc.fields
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("answering 503: %s", exc)
        body = {"error": "unavailable", "message": "the intake cannot reach its database; try again shortly"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(_is_key_error(e) for e in errors):
            error = ApiError(
                400,
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            )
        elif any(_is_body_shape(e) for e in errors):
            error = ApiError(
                400, "invalid_json", "the body must be a JSON object (Content-Type: application/json)"
            )
        else:
            error = ApiError(
                422, "invalid_request", "the request has invalid fields", field_errors(errors, located=True)
            )
        return await _api_error(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        content_type = request.headers.get("content-type", "")
        message = str(exc.detail)
        if exc.status_code == 400 and "multipart/form-data" in content_type:
            code = "invalid_form"
        elif exc.status_code == 400 and "json" in content_type:
            # FastAPI's answer when its JSON parser gave up (e.g. nested deeper than Python recurses)
            code, message = (
                "invalid_json",
                "the body could not be read as JSON (malformed or nested too deeply)",
            )
        else:
            code = _status_code_name(exc.status_code)
        return JSONResponse(
            {"error": code, "message": message}, status_code=exc.status_code, headers=exc.headers
        )

    def accept(bot: Bot, request: BaseModel, key: str | None, uploads: list[Upload]) -> JSONResponse:
        payload = request.model_dump(mode="json")
        nul = _nul_fields(payload)
        if nul:
            message = "NUL characters are not allowed"
            raise ApiError(
                422,
                "invalid_request",
                "the request has invalid fields",
                [{"field": f, "message": message} for f in nul],
            )
        try:
            bot.admit(request, store.clock.now().astimezone(tz).date())
        except FieldInvalid as exc:
            raise ApiError(
                422,
                "invalid_request",
                "the request has invalid fields",
                [{"field": exc.field, "message": exc.message}],
            ) from None
        try:
            item, created = store.submit(
                bot.queue,
                payload,
                reference=key,
                customer_id=bot.customer_of(request),
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
        and `files`; the bot turns both into the payload its request model validates."""

        async def submit(
            request: Request, form: BaseModel, files: list[UploadFile], idempotency_key: str | None = None
        ) -> JSONResponse:
            if len(files) > MAX_UPLOADS:
                raise ApiError(400, "invalid_form", f"at most {MAX_UPLOADS} files may come with a request")
            uploads: list[Upload] = []
            for upload in files:
                data = await upload.read(MAX_UPLOAD_BYTES + 1)
                if len(data) > MAX_UPLOAD_BYTES:
                    raise ApiError(
                        413,
                        "file_too_large",
                        f"file {upload.filename!r} is larger than {MAX_UPLOAD_BYTES // 2**20} MiB",
                        [{"field": "files", "message": "file too large"}],
                    )
                media_type = upload.content_type or "application/octet-stream"
                uploads.append(Upload(upload.filename or "unnamed", media_type, data))
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
                    default=[],
                    annotation=Annotated[
                        list[UploadFile],
                        File(
                            description=f"The documents: at most {MAX_UPLOADS} files of at most "
                            f"{MAX_UPLOAD_BYTES // 2**20} MiB each, stored with the item"
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

    app.include_router(v1)
    for bot in registry:
        # a bot's own routes: the hook gets the security dependency, to use as `dependencies=[Security(it)]`
        extra = getattr(bot, "intake_router", None)
        if extra is not None:
            app.include_router(extra(require_token))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
