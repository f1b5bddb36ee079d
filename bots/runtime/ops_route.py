"""How every request of the operator API is handled, whatever its route: the operator signed in from the
token (401) and the role checked (403) before the body is read (413 beyond its limit), the request in the
audit log (`bots.runtime.ops.audit`: operator, method, path, status), a method the path does not answer
refused with every method it does in `Allow`, and the runtime's errors as the API's answers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from bots.runtime.api import ApiError, read_body
from bots.runtime.errors import (
    InvalidTransition,
    NotFound,
    StaleVersion,
    StoreUnavailable,
    UnknownQueue,
    UnknownResolution,
)
from bots.runtime.models import Operator
from bots.runtime.operators import Authenticator, InvalidToken, TokenExpired

audit = logging.getLogger("bots.runtime.ops.audit")

MAX_BODY_BYTES = 256 * 1024
_DIGITS = re.compile(r"[0-9]+")

OPS_BEARER = HTTPBearer(
    auto_error=False, scheme_name="operator", description="The token `POST /v1/ops/login` answers with"
)


class Access(Enum):
    """Who may call a route: anybody (sign-in, setup), any operator signed in, or supervisors only."""

    PUBLIC = "public"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"


def invalid(field: str, message: str) -> ApiError:
    """422 naming `field`."""
    return ApiError(
        422, "invalid_request", "the request has invalid fields", [{"field": field, "message": message}]
    )


@contextmanager
def translated() -> Iterator[None]:
    """The runtime's errors as the API's answers."""
    try:
        yield
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except (InvalidTransition, StaleVersion) as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except UnknownResolution as exc:
        raise invalid("resolution", str(exc)) from None
    except UnknownQueue as exc:
        raise ApiError(409, "conflict", f"{exc}: this API cannot decide its cases") from None
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc), [{"field": "note", "message": str(exc)}]) from None


def _status_of(exc: Exception) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, StoreUnavailable):
        return 503
    return 500


def ops_route(
    authenticator: Authenticator, access: Access, methods_by_path: dict[str, set[str]]
) -> type[APIRoute]:
    """A route class that signs the operator in from the token (401) and checks the role (403) before the
    body is read (413 beyond MAX_BODY_BYTES), and logs every request to the audit log. A method the path
    does not answer gets 405 with every method it does answer in `Allow` (`methods_by_path`, shared by
    the routes of one API: `GET /setup` and `POST /setup` are two routes)."""

    class OpsRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            super().__init__(path, endpoint, **kwargs)
            methods_by_path.setdefault(self.path_format, set()).update(self.methods or ())

        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            # `/items/retry` is no item id: it is another route (405 for GET), not `/items/{item_id}` (422)
            match, child = super().matches(scope)
            ids = (v for k, v in child.get("path_params", {}).items() if k.endswith("_id"))
            if match is not Match.NONE and any(not _DIGITS.fullmatch(str(v)) for v in ids):
                return Match.NONE, {}
            return match, child

        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            if self.methods and scope["method"] not in self.methods:
                allowed = ", ".join(sorted(methods_by_path.get(self.path_format, self.methods)))
                raise StarletteHTTPException(405, headers={"Allow": allowed})
            await super().handle(scope, receive, send)

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                status = 500
                try:
                    if access is not Access.PUBLIC:
                        operator = await run_in_threadpool(_sign_in, authenticator, await OPS_BEARER(request))
                        request.state.operator = operator
                        request.state.audit_name = operator.name
                        if access is Access.SUPERVISOR and not operator.is_supervisor:
                            raise ApiError(403, "forbidden", "only a supervisor may do this")
                    if request.method in ("POST", "PUT", "PATCH"):
                        await read_body(request, MAX_BODY_BYTES)
                    response = await handler(request)
                    status = response.status_code
                    return response
                except Exception as exc:
                    status = _status_of(exc)
                    raise
                finally:
                    audit.info(
                        "operator=%s method=%s path=%s status=%s",
                        getattr(request.state, "audit_name", None) or "-",
                        request.method,
                        request.url.path,
                        status,
                    )

            return handle

    return OpsRoute


def _sign_in(authenticator: Authenticator, credentials: HTTPAuthorizationCredentials | None) -> Operator:
    if credentials is None:
        raise ApiError(401, "unauthorized", "sign in first: Authorization: Bearer <token>")
    try:
        return authenticator.operator(credentials.credentials)
    except TokenExpired:
        raise ApiError(401, "token_expired", "the sign-in has expired; sign in again") from None
    except InvalidToken:
        raise ApiError(401, "unauthorized", "the token is not valid (signed out?); sign in again") from None


def current_operator(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(OPS_BEARER)]
) -> Operator:
    """The operator the route class signed in (declared as a security dependency for the OpenAPI document)."""
    operator: Operator = request.state.operator
    return operator


Op = Annotated[Operator, Depends(current_operator)]
