"""The REST API under /api/v1/: authentication, rate limiting and the error shapes.

Every error is JSON. Field errors (400 and 422) are ``{"detail": [{"field", "location",
"message", "code"}]}``; every other error is ``{"detail": "..."}``.
"""

import hashlib
import math
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import BaseThrottle

from guanxi.core.pagination import InvalidCursor
from guanxi.users.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gx_…`` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is not None:
            digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]
            request._guanxi_rate_key = f"t:{digest}"  # type: ignore[attr-defined]
        return user


class BrowserSessionAuth(SessionAuth):
    """The logged-in browser session (CSRF-checked on unsafe methods), for the docs page."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            request._guanxi_rate_key = f"u:{user.pk}"  # type: ignore[attr-defined]
        return user


class PerMinuteRateLimit(BaseThrottle):
    """A fixed one-minute window per token (or per user for sessions), counted in the
    cache so that every web process shares it. Limit: ``API_RATE_LIMIT_PER_MINUTE``."""

    def __init__(self) -> None:
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        ident = getattr(request, "_guanxi_rate_key", None)
        if ident is None:
            return True
        now = time.time()
        window = int(now // 60)
        key = f"api-rate:{ident}:{window}"
        cache.add(key, 0, timeout=61)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=61)
            count = 1
        self._local.wait = max(1, math.ceil((window + 1) * 60 - now))
        return count <= settings.API_RATE_LIMIT_PER_MINUTE

    def wait(self) -> float | None:
        return getattr(self._local, "wait", 60)


api = NinjaAPI(
    title="Guanxi API",
    version="1",
    description=(
        "The REST API of Guanxi (关系). Authenticate with a personal API token "
        "(`Authorization: Bearer gx_…`, created under Settings → API tokens) or, in the "
        "browser, with your session. Times are ISO 8601 in UTC. Lists are cursor-paginated: "
        "pass `next_cursor` back as `cursor`. Field errors come back as 422 (or 400 for a "
        "malformed request) with the field named."
    ),
    auth=[TokenAuth(), BrowserSessionAuth()],
    throttle=PerMinuteRateLimit(),
    urls_namespace="api",
)


def field_errors(
    errors: Iterable[tuple[str | None, str, str, str]],
) -> dict[str, list[dict[str, Any]]]:
    """Build the 400/422 body from (field, location, message, code) tuples."""
    return {
        "detail": [
            {"field": f, "location": loc, "message": m, "code": c} for f, loc, m, c in errors
        ]
    }


# Service field names that the API calls differently.
API_FIELD_NAMES = {
    "owner": "owner_id",
    "team": "team_id",
    "channel": "channel_id",
    "customer": "customer_id",
    "contact": "contact_id",
    "pipeline": "pipeline_id",
    "stage": "stage_id",
    "__all__": None,
}


def django_validation_errors(exc: DjangoValidationError) -> list[tuple[str | None, str, str, str]]:
    """(field, location, message, code) for each message of a Django ValidationError."""
    result: list[tuple[str | None, str, str, str]] = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            name = API_FIELD_NAMES.get(field, field)
            for error in errors:
                for message in error.messages:
                    result.append((name, "body", message, error.code or "invalid"))
    else:
        for error in exc.error_list:
            for message in error.messages:
                result.append((None, "body", message, error.code or "invalid"))
    return result


@api.exception_handler(NinjaValidationError)
def _on_request_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", ())]
        location = loc[0] if loc else "body"
        path = loc[1:]
        if location == "body" and path and path[0] == "payload":
            path = path[1:]
        errors.append(
            (
                ".".join(path) or None,
                location,
                str(error.get("msg", "")),
                str(error.get("type", "invalid")),
            )
        )
    return api.create_response(request, field_errors(errors), status=422)


@api.exception_handler(DjangoValidationError)
def _on_service_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return api.create_response(request, field_errors(django_validation_errors(exc)), status=422)


@api.exception_handler(InvalidCursor)
def _on_invalid_cursor(request: HttpRequest, exc: InvalidCursor) -> HttpResponse:
    body = field_errors(
        [
            (
                "cursor",
                "query",
                _("This cursor is not valid; start again without one."),
                "invalid_cursor",
            )
        ]
    )
    return api.create_response(request, body, status=400)


@api.exception_handler(Http404)
def _on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or _("Not found.")}, status=404)


@api.exception_handler(PermissionDenied)
def _on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = str(exc) or _("You do not have permission to do this.")
    return api.create_response(request, {"detail": message}, status=403)


@api.exception_handler(AuthenticationError)
def _on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {
            "detail": _(
                "Authentication required: send a valid API token as 'Authorization: Bearer …'."
            )
        },
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # malformed body (e.g. invalid JSON)
        body: dict[str, Any] = field_errors([(None, "body", str(exc), "malformed")])
        return api.create_response(request, body, status=400)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


api.add_router("/", "guanxi.users.api.router")
api.add_router("/", "guanxi.customers.api.router")
api.add_router("/", "guanxi.sales.api.router")
api.add_router("/", "guanxi.core.api.router")
api.add_router("/", "guanxi.activities.api.router")
api.add_router("/", "guanxi.commerce.api.router")
