"""What the runtime's HTTP APIs share (the intake, and the operator API next): one error body for every
error whoever raises it, a bearer token checked before the body is read, and a body limit enforced while
the body arrives."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from bots.runtime.errors import ConfigurationError, StoreUnavailable

log = logging.getLogger(__name__)

MIN_TOKEN_LENGTH = 16
RETRY_AFTER_SECONDS = 5  # what a 503 asks the client to wait while the database is away


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


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    fields: list[ErrorField] = []


def checked_token(secret: str, setting: str) -> bytes:
    """The API's shared secret, refused at start-up when it is empty or short."""
    token = secret.encode()
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"{setting} must be at least {MIN_TOKEN_LENGTH} characters long (it has {len(token)}): "
            "set it to a secret shared with the client, e.g. `openssl rand -hex 32`"
        )
    return token


def bearer_check(token: bytes) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    """Raises 401 unless the credentials are `token`; compared in constant time, empty never passes."""

    def check(credentials: HTTPAuthorizationCredentials | None) -> None:
        given = credentials.credentials.encode() if credentials is not None else b""
        # compare first, so the time taken does not tell which check failed
        if not (hmac.compare_digest(given, token) and given and token):
            raise ApiError(401, "unauthorized", "a valid bearer token is required")

    return check


def token_first_route(
    bearer: HTTPBearer,
    check: Callable[[HTTPAuthorizationCredentials | None], None],
    limit: Callable[[Request], int],
) -> type[APIRoute]:
    """A route class that checks the bearer token before FastAPI reads the body, so a request without a
    valid token is answered 401 (never 400 or 422) and its body, maybe a large upload, is never parsed;
    then it reads the body up to its limit (413 beyond it, before the rest is read)."""

    class TokenFirstRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                check(await bearer(request))
                if request.method in ("POST", "PUT", "PATCH"):
                    await read_body(request, limit(request))
                return await handler(request)

            return handle

    return TokenFirstRoute


async def read_body(request: Request, limit: int) -> None:
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


def install_error_handlers(app: FastAPI, header_errors: Mapping[str, ApiError] = {}) -> None:
    """Every error as an `ErrorBody`: ours, validation (422 naming the field; `header_errors` for a bad
    header by its lower-case name), malformed JSON (400), HTTP errors, the database away (503)."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("answering 503: %s", exc)
        body = {"error": "unavailable", "message": "the database cannot be reached; try again shortly"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        for e in errors:
            if tuple(e["loc"][:1]) == ("header",) and str(e["loc"][-1]).lower() in header_errors:
                return error_response(header_errors[str(e["loc"][-1]).lower()])
        if any(_is_body_shape(e) for e in errors):
            return error_response(
                ApiError(
                    400, "invalid_json", "the body must be a JSON object (Content-Type: application/json)"
                )
            )
        fields = field_errors(errors, located=True)
        return error_response(ApiError(422, "invalid_request", "the request has invalid fields", fields))

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


def error_response(exc: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"error": exc.error, "message": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)
